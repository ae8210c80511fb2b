"""Quotes out of the archive: media cut from a clip at word edges (``spec``), the cut
jobs the workers run (``jobs``), and rough cuts of quotes from several clips
(``selections``, exported by ``timeline`` as EDL, FCP XML and a DOCX script)."""
