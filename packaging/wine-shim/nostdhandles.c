/* TEST SCAFFOLDING ONLY, NEVER SHIPPED: starts a program the way Windows
 * starts a GUI program from a terminal, with no standard handles, so that
 * make test-windows can check that twofold.exe (a GUI program) attaches to
 * the console of the terminal that started it and prints there. Wine,
 * unlike Windows, hands a GUI program its parent's console handles, so a
 * plain start under Wine would print even without the attach.
 *   nostdhandles.exe PROGRAM [ARGS...]   exits with PROGRAM's exit code */
#include <windows.h>
#include <stdio.h>

int wmain(int argc, wchar_t **argv)
{
	if (argc < 2) {
		fwprintf(stderr, L"usage: nostdhandles PROGRAM [ARGS...]\n");
		return 2;
	}
	/* The command line after our own name, as given. */
	wchar_t *cmd = GetCommandLineW();
	int quoted = 0;
	for (; *cmd && (quoted || (*cmd != L' ' && *cmd != L'\t')); cmd++)
		if (*cmd == L'"')
			quoted = !quoted;
	while (*cmd == L' ' || *cmd == L'\t')
		cmd++;
	STARTUPINFOW si = {sizeof si};
	si.dwFlags = STARTF_USESTDHANDLES; /* and every handle NULL */
	PROCESS_INFORMATION pi;
	if (!CreateProcessW(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
		fwprintf(stderr, L"nostdhandles: cannot start %ls: error %lu\n", argv[1], GetLastError());
		return 2;
	}
	WaitForSingleObject(pi.hProcess, INFINITE);
	DWORD rc = 1;
	GetExitCodeProcess(pi.hProcess, &rc);
	return (int)rc;
}
