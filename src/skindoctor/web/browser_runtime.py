"""The in-browser model runtime (onnxruntime-web, MIT) that the page's on-device mode runs.

Fetched once by the install step (``make run`` / ``make test`` call ``skindoctor fetch-browser-runtime``)
from the npm registry, pinned by version and checked against the registry's SHA-512 integrity; only the
WebAssembly build's three files and the licence are kept, under ``web/static/vendor/onnxruntime-web/``.
The server serves them to the page and the page's service worker caches them: nothing is fetched from
anywhere at run time. Without them the page works in server mode only.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import urllib.request
from pathlib import Path

from ..errors import SkinDoctorError

VERSION = "1.31.1"
TARBALL = f"https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-{VERSION}.tgz"
INTEGRITY = "sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw=="
FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
RUNTIME_DIR = Path(__file__).parent / "static" / "vendor" / "onnxruntime-web"
LICENSE = f"""onnxruntime-web {VERSION} (https://www.npmjs.com/package/onnxruntime-web), files {', '.join(FILES)}

MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def installed(directory: Path = RUNTIME_DIR) -> bool:
    """Whether the runtime's files of the pinned version are in place."""
    stamp = directory / "VERSION"
    return stamp.is_file() and stamp.read_text().strip() == VERSION and all((directory / f).is_file() for f in FILES)


def check_integrity(data: bytes, integrity: str | None = None) -> None:
    """Refuse a download whose SHA-512 differs from the registry's pinned integrity string."""
    algorithm, _, expected = (integrity or INTEGRITY).partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise SkinDoctorError(f"onnxruntime-web {VERSION}: the download's {algorithm} does not match the pinned one")


def unpack(data: bytes, directory: Path = RUNTIME_DIR) -> None:
    """Keep the pinned files of an npm tarball (``package/dist/…``) in ``directory``, with the licence."""
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for name in FILES:
            try:
                data = tar.extractfile(f"package/dist/{name}").read()
            except (KeyError, AttributeError):  # not in the package, or not a file
                raise SkinDoctorError(f"onnxruntime-web {VERSION}: {name} is missing from the package") from None
            (directory / name).write_bytes(data)
    (directory / "LICENSE").write_text(LICENSE, encoding="utf-8")
    (directory / "VERSION").write_text(VERSION + "\n")


def fetch(directory: Path = RUNTIME_DIR, url: str = TARBALL, timeout: float = 120.0) -> bool:
    """Download, verify and unpack the runtime unless it is already there; True if it was fetched."""
    if installed(directory):
        return False
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (a pinned https URL)
            data = response.read()
    except OSError as e:
        raise SkinDoctorError(f"cannot download onnxruntime-web {VERSION} from {url}: {e}") from None
    check_integrity(data)
    unpack(data, directory)
    return True
