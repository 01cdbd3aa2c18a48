/* TEST SCAFFOLDING ONLY, NEVER SHIPPED: Debian's Wine 8.0 lacks
 * bcryptprimitives.dll!ProcessPrng, which every Go >= 1.22 Windows binary
 * needs at start ("bcryptprimitives.dll not found"). make test-windows
 * builds this DLL with mingw into the private test prefix's system32 only.
 * Windows 10 and later have the real one. */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!RtlGenRandom(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
