"""Frame sources behind one interface: camera index, video file, image folder, stream URL.

Every frame carries a timestamp in seconds: media time for files and folders (so a clip replays
identically however fast we process it), the monotonic clock for live sources. A live source that
stops delivering is reopened a bounded number of times, then ends with ``SourceLost``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, SkinDoctorError
from ..vision.image_io import read_image

log = logging.getLogger(__name__)
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # our own messages say what went wrong
STREAM_PREFIXES = ("rtsp://", "rtsps://", "http://", "https://", "udp://", "tcp://")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


class SourceLost(SkinDoctorError):
    """A live source stopped delivering frames and could not be reopened."""

    http_status = 503


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # RGB uint8
    t: float  # seconds
    index: int


class FrameSource:
    live = False

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class FolderSource(FrameSource):
    """Images of a folder in name order, one every ``1/fps`` seconds of media time."""

    def __init__(self, folder: Path, fps: float = 10.0):
        self.paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise InputError(f"{folder}: no images in this folder")
        self.fps = fps

    def __iter__(self) -> Iterator[Frame]:
        for i, path in enumerate(self.paths):
            try:
                image = read_image(path)
            except InputError as e:
                log.warning("skipping %s", e)
                continue
            yield Frame(image, i / self.fps, i)


class OpenCVSource(FrameSource):
    """A video file, a camera index or a stream URL through ``cv2.VideoCapture``."""

    def __init__(self, target: int | str, live: bool, reconnects: int = 3, reconnect_delay: float = 0.5):
        self.target, self.live = target, live
        self.reconnects, self.reconnect_delay = reconnects, reconnect_delay
        self.cap = self._open()

    def _open(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            cap.release()
            what = f"camera {self.target}" if isinstance(self.target, int) else str(self.target)
            raise SourceLost(f"cannot open {what}") if self.live else InputError(f"{what}: cannot open as video")
        return cap

    def __iter__(self) -> Iterator[Frame]:
        index, failures = 0, 0
        fps = self.cap.get(cv2.CAP_PROP_FPS) or 30.0
        while True:
            ok, bgr = self.cap.read()
            if not ok or bgr is None:
                if not self.live:
                    return  # end of the file
                failures += 1
                if failures > self.reconnects:
                    raise SourceLost(f"the camera/stream {self.target} stopped sending frames "
                                     f"(tried to reconnect {self.reconnects} times)")
                log.warning("source %s gave no frame; reconnecting (%d/%d)", self.target, failures, self.reconnects)
                self.cap.release()
                time.sleep(self.reconnect_delay)
                try:
                    self.cap = self._open()
                except SourceLost:
                    continue
                continue
            failures = 0
            if self.live:
                t = time.monotonic()
            else:
                ms = self.cap.get(cv2.CAP_PROP_POS_MSEC)
                t = ms / 1000.0 if ms > 0 or index == 0 else index / fps
            yield Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), t, index)
            index += 1

    def close(self) -> None:
        self.cap.release()


def open_source(spec: str | int, fps: float = 10.0, reconnects: int = 3) -> FrameSource:
    """``0`` (camera index), ``clip.mp4``, ``folder/`` or ``rtsp://…``/``http://…`` → a FrameSource."""
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return OpenCVSource(int(spec), live=True, reconnects=reconnects)
    if spec.startswith(STREAM_PREFIXES):
        return OpenCVSource(spec, live=True, reconnects=reconnects)
    path = Path(spec)
    if path.is_dir():
        return FolderSource(path, fps)
    if not path.is_file():
        raise InputError(f"{spec}: no such file, folder or camera")
    return OpenCVSource(str(path), live=False)


class LatestFrame:
    """Reads a live source on a thread and keeps only the newest frame: the consumer never lags,
    it skips. ``dropped`` counts frames that were replaced before being taken."""

    def __init__(self, source: FrameSource):
        self.source = source
        self._frame: Frame | None = None
        self._error: BaseException | None = None
        self._done = False
        self._cond = threading.Condition()
        self.dropped = 0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for frame in self.source:
                with self._cond:
                    if self._frame is not None:
                        self.dropped += 1
                    self._frame = frame
                    self._cond.notify()
        except BaseException as e:  # handed to the consumer thread
            self._error = e
        finally:
            with self._cond:
                self._done = True
                self._cond.notify()

    def __iter__(self) -> Iterator[Frame]:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._frame is not None or self._done)
                frame, self._frame = self._frame, None
                if frame is None:
                    if self._error is not None:
                        raise self._error
                    return
            yield frame
