"""Stream copy of a source file's audio tracks into an output container, interleaved with the video by time.

The source is opened a second time and demuxed lazily, so a long file never has its audio in memory:
the writer calls :meth:`AudioCopier.copy_until` with each video frame's time before encoding it, and the
muxer's interleaving queue puts the packets in order. Packets are remuxed, never decoded: their bytes,
flags and timestamps are kept (timestamps are only rescaled to the output stream's time base).
"""
from __future__ import annotations

import os
from fractions import Fraction

import av

from stngan.media.errors import media_errors


class AudioCopier:
    """Copy every audio stream of ``source`` into ``output`` (a PyAV output container not yet started)."""

    def __init__(self, source: str | os.PathLike, output: av.container.OutputContainer) -> None:
        self.source = os.fspath(source)
        with media_errors(self.source, "cannot open for audio copy"):
            self._input = av.open(self.source)
        try:
            streams = list(self._input.streams.audio)
            self._targets = {}
            for stream in streams:
                target = output.add_stream_from_template(stream)
                target.metadata.update({k: v for k, v in stream.metadata.items() if k == "language"})
                self._targets[stream.index] = target
            self._packets = self._input.demux(*streams) if streams else iter(())
        except BaseException:
            self._input.close()
            raise
        self._output = output
        self._pending: av.Packet | None = None
        self.packets_copied = 0

    def copy_until(self, seconds: Fraction | None) -> None:
        """Mux source packets whose decoding time is at most ``seconds`` (all remaining ones for None)."""
        with media_errors(self.source, "cannot copy audio"):
            while True:
                packet, self._pending = self._pending or next(self._packets, None), None
                if packet is None:
                    return
                if not packet.size:  # end-of-stream marker PyAV yields for decoder flushing
                    continue
                stamp = packet.dts if packet.dts is not None else packet.pts
                if seconds is not None and stamp is not None and stamp * packet.time_base > seconds:
                    self._pending = packet
                    return
                packet.stream = self._targets[packet.stream_index]
                self._output.mux(packet)
                self.packets_copied += 1

    def close(self) -> None:
        self._pending = None
        self._input.close()
