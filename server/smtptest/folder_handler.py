"""An aiosmtpd handler that writes each message it accepts to a folder,
one JSON file per message (envelope sender, recipients, raw data), made
visible by a rename so a reader never sees half a file.

Run: python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c folder_handler.Folder DIR
"""
import json
import os
import uuid


class Folder:
    def __init__(self, folder):
        self.folder = folder

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("Folder takes one argument: the folder")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        name = uuid.uuid4().hex
        tmp = os.path.join(self.folder, name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "data": envelope.original_content.decode("utf-8", "replace"),
            }, f)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.folder, name + ".json"))
        return "250 Message accepted for delivery"
