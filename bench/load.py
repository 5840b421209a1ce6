"""Bounded load and hostile-client runs on loopback against a real ``skindoctor serve`` → docs/reliability.md.

The load: concurrent upload and live-session clients for a fixed time and request cap. The hostile clients
(the probe's findings, at a bounded scale): idle and trickling connections past the connection cap, a PNG that
would decode to 159 MB, an upload of 80 × 15 MB parts, 16 clients uploading 12 Mpx photos at once.

    python bench/load.py --image photo.jpg [--clients 20 --live 8 --seconds 60 --workers 1]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from PIL import Image
from websockets.sync.client import connect

from skindoctor.dev.benchmark import rss_mb
from skindoctor.dev.clips import Segment, render
from skindoctor.dev.payloads import png16_rgba
from skindoctor.vision.image_io import read_image

MAX_REQUESTS = 200_000
MACHINE = "a 2-core VM, the load generator on the same machine"


def jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--live", type=int, default=8, help="how many of the clients are live camera sessions")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=1, help="server processes (skindoctor serve --workers)")
    ap.add_argument("--flood", type=int, default=3000, help="idle connections opened by the hostile client")
    ap.add_argument("--image", required=True, help="a lesion photo to upload and to film")
    ap.add_argument("--out", default="docs/reliability.md")
    args = ap.parse_args()

    with serving(args.workers, {"SKINDOCTOR_MAX_LIVE_SESSIONS": str(args.live)}) as (server, url, log):
        load = run_load(args, server, url)
    with serving(args.workers) as (server, url, log):
        hostile = run_hostile(args, server, url, log)
    lines = ["# Reliability", "", *load, "", *hostile, "", *STATIC]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(load + [""] + hostile))


@contextmanager
def serving(workers: int, env: dict | None = None):
    """A real ``skindoctor serve`` on a free loopback port; yields (process, base URL, its log file)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log")
    cmd = [sys.executable, "-m", "skindoctor.cli", "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env={**os.environ, "SKINDOCTOR_LLM_PROVIDER": "none", **(env or {})},
                            stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        pids = set()
        for _ in range(600):  # every worker answering
            try:
                pids.add(httpx.get(url + "/healthz", timeout=1).json()["worker"])
                if len(pids) >= workers:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield proc, url, Path(log.name)
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def client_address(k: int) -> str:
    """Client ``k``'s own loopback address (127.0.1.k): a phone of its own, for the per-client limit."""
    return f"127.0.1.{k + 1}"


def processes(pid: int) -> list[int]:
    """The server and its worker processes."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *map(int, children)]


def total_rss(pid: int) -> float:
    return sum(rss_mb(p) for p in processes(pid))


def open_files(pid: int) -> int:
    return sum(len(os.listdir(f"/proc/{p}/fd")) for p in processes(pid))


def cpu_seconds(pid: int) -> float:
    ticks = 0
    for p in processes(pid):
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class Sampler:
    """The server's total RSS (and open files) every 0.2 s while in use."""

    def __init__(self, pid: int, files: bool = False):
        self.pid, self.files, self.rss, self.fds = pid, files, [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        while not self.stop.is_set():
            self.rss.append(total_rss(self.pid))
            if self.files:
                self.fds.append(open_files(self.pid))
            time.sleep(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def run_load(args, server, url: str) -> list[str]:
    photo = read_image(args.image)
    upload = Path(args.image).read_bytes()
    frames = [jpeg(render(Segment(photo, 10), t, np.random.default_rng(i))) for i, t in enumerate(np.arange(0, 2, 0.1))]
    stop_at = time.monotonic() + args.seconds
    lock = threading.Lock()
    stats = {"upload": [], "live": []}
    errors: list[str] = []
    count = [0]

    def record(kind: str, seconds: float | None, error: str | None = None) -> bool:
        with lock:
            count[0] += 1
            if error:
                errors.append(f"{kind}: {error}")
            else:
                stats[kind].append(seconds)
            return count[0] < MAX_REQUESTS and time.monotonic() < stop_at

    def upload_client(k: int):
        with httpx.Client(timeout=30, transport=httpx.HTTPTransport(local_address=client_address(k))) as c:
            go = True
            while go:
                t0 = time.perf_counter()
                try:
                    r = c.post(url + "/api/v1/diagnose", files={"file": ("photo.jpg", upload)})
                    go = record("upload", time.perf_counter() - t0,
                                None if r.status_code == 200 else f"HTTP {r.status_code}")
                except httpx.HTTPError as e:
                    go = record("upload", None, type(e).__name__)

    def live_client(k: int):
        try:
            sock = socket.socket()
            sock.bind((client_address(k), 0))
            sock.connect(("127.0.0.1", int(url.rsplit(":", 1)[1])))
            with connect(url.replace("http", "ws") + "/api/v1/live", sock=sock, open_timeout=10) as ws:
                i, go = 0, True
                while go:
                    t0 = time.perf_counter()
                    ws.send(frames[i % len(frames)])
                    msg = json.loads(ws.recv(timeout=30))
                    i += 1
                    go = record("live", time.perf_counter() - t0,
                                "error reply" if msg["type"] == "error" else None)
                    if msg.get("diagnosis"):
                        ws.send(json.dumps({"type": "reset"}))
                        ws.recv(timeout=30)
                    time.sleep(1 / 15)  # a phone sending ~15 frames a second
        except Exception as e:  # counted, reported
            record("live", None, f"{type(e).__name__}: {e}")

    rss_start, busy = total_rss(server.pid), os.getloadavg()[0]
    threads = [threading.Thread(target=live_client if k < args.live else upload_client, args=(k,))
               for k in range(args.clients)]
    t0 = time.monotonic()
    with Sampler(server.pid) as sampler:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall = time.monotonic() - t0
    samples = sampler.rss
    rss_end = total_rss(server.pid)
    rss_peak = max(samples + [rss_end])
    quarter = max(1, len(samples) // 4)
    rss_first, rss_last = max(samples[:quarter]), max(samples[-quarter:])
    alive = httpx.get(url + "/healthz", timeout=5).status_code == 200

    def summary(kind):
        a = np.asarray(stats[kind]) * 1000
        return (f"{len(a)} ok, {len(a) / wall:.1f}/s, p50 {np.percentile(a, 50):.1f} ms, "
                f"p95 {np.percentile(a, 95):.1f} ms" if len(a) else "none")

    workers = f" --workers {args.workers}" if args.workers > 1 else ""
    return [
        "## Load (bounded, loopback only)", "",
        f"`python bench/load.py --clients {args.clients} --live {args.live} --seconds {args.seconds:.0f}{workers}` "
        f"against a real `skindoctor serve{workers}` on 127.0.0.1 ({MACHINE}): {args.live} live camera sessions "
        f"(WebSocket, ~15 frames/s each, one frame in flight) and {args.clients - args.live} clients uploading a "
        f"{len(upload) / 1e3:.0f} kB photo back to back, for {wall:.0f} s; each client from its own loopback "
        f"address (127.0.1.k). The machine's load average was {busy:.1f} at the start (other work shares its 2 "
        "cores: compare figures within one run).", "",
        f"- Uploads: {summary('upload')}",
        f"- Live frames: {summary('live')}",
        f"- Errors: **{len(errors)}**" + (f" — first: {errors[:3]}" if errors else ""),
        f"- Server RSS (all processes): {rss_start:.0f} MB at start, **peak {rss_peak:.0f} MB**, {rss_end:.0f} MB "
        f"at the end; highest in the first quarter of the run {rss_first:.0f} MB, in the last quarter "
        f"{rss_last:.0f} MB",
        f"- Server still healthy afterwards: {'yes' if alive else 'NO'}",
    ]


def run_hostile(args, server, url: str, log: Path) -> list[str]:
    port = int(url.rsplit(":", 1)[1])
    lines = ["## Hostile clients (bounded, loopback only)", "",
             f"Against a fresh `skindoctor serve` (default settings) on 127.0.0.1, {MACHINE}; each finding of the "
             "probe replayed at a bounded scale. Memory figures are the server's RSS, sampled every 0.2 s.", ""]
    lines += flood(server.pid, url, port, args.flood, log)
    photo = Image.open(args.image).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    grain = np.random.default_rng(0).normal(0, 3, (3000, 4000, 1))  # a phone photo's sensor noise (and size)
    lines += memory(server.pid, url, port, jpeg(np.clip(np.asarray(photo) + grain, 0, 255).astype(np.uint8), 90))
    return lines


def flood(pid: int, url: str, port: int, n: int, log: Path) -> list[str]:
    """``n`` connections that send nothing and 100 that send headers a few bytes a second, held until the
    header deadline of the last has passed."""
    log_before, cpu_before, t0 = log.stat().st_size, cpu_seconds(pid), time.monotonic()
    idle, probes = [], []
    with Sampler(pid, files=True) as sampler:
        for _ in range(n):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        opened = time.monotonic() - t0
        trickle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(100)]
        sent = 0
        while time.monotonic() - t0 < opened + 13:  # past the 10 s header deadline of the last ones
            for s in trickle:
                try:
                    s.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1"[sent:sent + 2] or b"1")
                except OSError:
                    pass
            sent += 2
            p0 = time.perf_counter()
            try:
                ok = httpx.get(url + "/healthz", timeout=5).status_code == 200
            except httpx.HTTPError:
                ok = False
            probes.append((ok, time.perf_counter() - p0))
            time.sleep(0.5)
        closed_idle = sum(_closed(s) for s in idle)
        replies = [_closed(s, b"HTTP/1.1 408") for s in trickle]
    held = time.monotonic() - t0
    cpu = (cpu_seconds(pid) - cpu_before) / held
    for s in idle + trickle:
        s.close()
    log_lines = log.read_bytes()[log_before:].decode(errors="replace").splitlines()
    ms = np.array([t for _, t in probes]) * 1000
    return [
        f"- **Idle and trickling connections** ({n} opened in {opened:.1f} s sending nothing, then 100 sending "
        f"headers 2 bytes every 0.5 s, held {held:.0f} s): /healthz answered "
        f"{sum(ok for ok, _ in probes)}/{len(probes)} probes throughout (p50 {np.percentile(ms, 50):.0f} ms, "
        f"max {ms.max():.0f} ms); the server's open files peaked at {max(sampler.fds)} (the cap is 1000 "
        f"connections per worker; dropped ones are let go a moment later); by then the server had closed "
        f"{closed_idle}/{n} idle connections and {sum(replies)}/100 trickling ones (408); server CPU "
        f"{cpu * 100:.0f} % of one core over the flood; {len(log_lines)} log lines "
        f"({sum(map(len, log_lines)) / 1e3:.1f} kB): {sorted(set(line[:80] for line in log_lines))}",
    ]


def _closed(sock: socket.socket, expect: bytes = b"") -> bool:
    """Whether the server closed ``sock`` (having sent ``expect`` first)."""
    sock.setblocking(False)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except BlockingIOError:
        return False
    except OSError:
        return True
    return data.startswith(expect)


def memory(pid: int, url: str, port: int, photo12: bytes) -> list[str]:
    out = []

    def measured(run):
        base = total_rss(pid)
        t0 = time.perf_counter()
        with Sampler(pid) as s:
            result = run()
        return result, time.perf_counter() - t0, base, max(s.rss + [total_rss(pid)])

    bomb = png16_rgba(6300)
    r, took, base, peak = measured(lambda: httpx.post(url + "/api/v1/diagnose", timeout=60,
                                                      files={"file": ("bomb.png", bomb)}))
    out.append(f"- **PNG bomb** ({len(bomb) / 1e3:.0f} kB, 6300 × 6300 16-bit RGBA): HTTP {r.status_code} in "
               f"{took * 1000:.0f} ms (\"{r.json().get('detail', 'decoded and analysed')}\"); "
               f"RSS {base:.0f} → peak {peak:.0f} MB")

    def parts():  # streamed without Content-Length, so the server must count
        part = b"0" * (1 << 20)
        for i in range(80):
            yield f'--b\r\nContent-Disposition: form-data; name="f{i}"; filename="{i}.jpg"\r\n\r\n'.encode()
            for _ in range(15):
                yield part
            yield b"\r\n"
        yield b"--b--\r\n"

    def send_parts():
        try:
            return httpx.post(url + "/api/v1/diagnose", content=parts(), timeout=60,
                              headers={"Content-Type": "multipart/form-data; boundary=b"}).status_code
        except httpx.HTTPError as e:
            return type(e).__name__

    status, took, base, peak = measured(send_parts)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /api/v1/diagnose HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                  b"boundary=b\r\nContent-Length: 1258291200\r\n\r\n")
        declared = s.recv(200).split(b"\r\n", 1)[0].decode()
    out.append(f"- **80 × 15 MB parts** (1.2 GB, streamed chunked): {status} after {took:.1f} s, RSS {base:.0f} → "
               f"peak {peak:.0f} MB; the same declared in Content-Length: `{declared}` before any body is sent")

    def uploads():
        def one(k):
            with httpx.Client(timeout=120, transport=httpx.HTTPTransport(local_address=client_address(k))) as c:
                return [c.post(url + "/api/v1/diagnose", files={"file": ("p.jpg", photo12)}).status_code
                        for _ in range(3)]

        with ThreadPoolExecutor(16) as pool:
            return [s for statuses in pool.map(one, range(16)) for s in statuses]

    statuses, took, base, peak = measured(uploads)
    out.append(f"- **16 clients uploading a 12 Mpx JPEG** ({len(photo12) / 1e6:.1f} MB, 4000 × 3000) 3 times each: "
               f"{statuses.count(200)}/{len(statuses)} answered 200 in {took:.0f} s "
               f"({len(statuses) / took:.1f} uploads/s); RSS {base:.0f} → **peak {peak:.0f} MB**")
    return out


STATIC = [
    "## The probe's findings, before and after", "",
    "- Idle and partial-header connections: before, ~20 000 of them used up the file descriptors, /healthz timed "
    "out, CPU 100 %, 413 695 \"Too many open files\" log lines (170 MB in 25 s). After: see *Hostile clients* "
    "above: every one closed by the header deadline, /healthz answering throughout, a few log lines.",
    "- The 6300 × 6300 16-bit RGBA PNG (the probe's 322 kB, ours 309 kB): before, RSS 188 → 1 021 MB (the "
    "probe); on this machine with the "
    "decode budget switched off (`SKINDOCTOR_MAX_DECODE_BYTES=1000000000 SKINDOCTOR_MAX_DECODED_PIXELS=40000000`) "
    "154 → 959 MB and HTTP 200 after 5.1 s. After: 413 in about 0.2 s, RSS unchanged.",
    "- 80 × 15 MB parts: before, +1.2 GB held in memory and up to 1 000 parts accepted. After: 413 once 15 MiB "
    "+ 64 kB have come (or at once from Content-Length), RSS within a few MB; a second file part or any field: 400.",
    "- 16 clients uploading 12 Mpx JPEGs: before, peak RSS 965 MB (the probe); 867 MB and 3.1 uploads/s on this "
    "machine with full-size decoding (same switch as above). After: see above (the photo decoded at 2000 × 1500 "
    "by libjpeg; about 360 MB peak, and more than twice the uploads per second).",
    "- A non-ASCII token (`?token=%C3%A9`, `Bearer é`): before, 500 with ~30 traceback lines each; after, 401 and "
    "nothing logged. `Host: evil.example`: before 200, after 400; a cross-origin WebSocket or POST: 403. Uploads "
    "over 16 MB: before spooled to a deleted file in /tmp, after refused before parsing (never on disk). The "
    "cookie: `Secure` on HTTPS and never set from a `?token=` beside a Bearer header. 401/404/413/500: now with "
    "the security headers. `hold=nan`: before accepted and never confirming, after 422.",
    "",
    "## Memory under load: cause and fix", "",
    "Before: the 20-client load grew the server from 124 MB to 249–252 MB RSS (30 s and 60 s runs), still rising at "
    "the end. The cause was threads, not a leak: every upload and live frame ran on anyio's default pool of up to 40 "
    "worker threads, and glibc gives each thread its own malloc arena that it keeps (with `MALLOC_ARENA_MAX=2` the "
    "growth halved to +71 MB). The work is CPU-bound on 2 cores, so the app caps the pool at "
    "`SKINDOCTOR_WORKER_THREADS=4` and the process at `SKINDOCTOR_MALLOC_ARENAS=2` (glibc `mallopt`) at start-up. "
    "After (30 s, same command): peak 168 MB, with *more* throughput (uploads 120 → 127/s, live frame p50 74 → 56 ms: "
    "fewer threads contending for 2 cores); a 10-minute soak stayed flat at 170 MB.", "",
    "## Limits by design (docs/deployment.md for several workers and machines)", "",
    "- Connection phases: request headers within `SKINDOCTOR_HEADER_TIMEOUT=10` s of connecting or of the last "
    "answer (408, or closed if nothing came), idle keep-alive `SKINDOCTOR_KEEP_ALIVE_TIMEOUT=5` s, a request's "
    "answer started within `SKINDOCTOR_REQUEST_TIMEOUT=30` s (504; stalled bodies), live sessions idle 60 s. "
    "uvicorn 0.54 has no header-read timeout (its keep-alive timer starts after the first answer), so "
    "`skindoctor.web.server.GuardedH11Protocol`, a subclass of uvicorn's h11 protocol, adds it.",
    "- Connections: at most `SKINDOCTOR_MAX_CONNECTIONS=1000` per worker (and at most half the open-file limit, "
    "raised to its hard limit at start): at the cap the connection waiting longest for its headers is dropped for "
    "the new one, and when none is waiting the new one gets 503 + Retry-After. At most "
    "`SKINDOCTOR_MAX_CLIENT_REQUESTS=8` requests and live sessions at once per client address (503); /healthz is "
    "exempt. Flood messages (ours, uvicorn's, asyncio's) are rate-limited: 3 of a kind per 10 s.",
    "- Memory: request bodies limited before parsing (Content-Length, then a running count): 64 kB for the JSON "
    "API, the upload limit + 64 kB for `/api/v1/diagnose`, which takes exactly one file part and no other field; "
    "an upload is always held in memory (never spooled to disk), released once read; at most "
    "`SKINDOCTOR_MAX_CONCURRENT_UPLOADS=8` read and analysed at once per worker (more wait). Decoding: refused "
    "before any pixel when it would need over `SKINDOCTOR_MAX_DECODE_BYTES=64 MiB` (Pillow's bytes per pixel: 4 "
    "for colour, 6 for 16-bit grey); photos and frames over `SKINDOCTOR_MAX_DECODED_PIXELS=4000000` are shrunk on "
    "decode (JPEG by libjpeg's 1/2–1/8 scaling; boxes are answered in the photo's own pixels).",
    "- Requests: Host allow-list (loopback names, the address listened on, this machine's names when on every "
    "address, any IP address when exposed, `SKINDOCTOR_ALLOWED_HOSTS`/`--allowed-host`): 400 for other names "
    "(DNS rebinding); Origin must be the page's own (or a CORS origin) for WebSockets and POSTs (403); tokens "
    "compared as bytes in constant time; the cookie is set only from a valid `?token=` without a Bearer header, "
    "`Secure` on HTTPS (directly or via a trusted proxy's X-Forwarded-Proto); security headers on every answer, "
    "401/404/413/500 and WebSocket refusals included; live `hold` 0.5–30 s and `decide` 3–120 s, else 422.",
    "",
    "## What the test suite proves (each a test)", "",
    "- The probe's findings, replayed (`tests/test_reliability.py`): 300 idle and trickling sockets against a cap of "
    "50 (closed within the header deadline, 408 for partial headers, /healthz answering throughout, a few log lines); "
    "503 when the cap is held by live sessions; one client cannot take every slot; a real server with 256 open "
    "files flooded with 600 connections keeps answering with < 40 log lines; the 16-bit PNG bomb (413 in < 2 s); "
    "one file part only; 1.2 GB declared → 413 before the body; a chunked 20 MB upload → 413 and no temporary "
    "file; a 12 Mpx photo shrunk on decode and boxed in its own pixels; non-ASCII tokens → 401, nothing logged; "
    "`Host: evil.example` → 400; cross-origin WebSocket and POST → 403; the cookie rules; security headers on "
    "401/404/413/500; NaN, infinite and out-of-range `hold`/`decide` → 422; `serve --workers 2` on loopback answers "
    "from both workers (/healthz reports the worker's pid).",
    "- Bad input: empty, corrupt, truncated, non-image, decompression-bomb header, tiny images → clear 4xx / CLI "
    "exit 2 (`tests/test_bad_input.py`, `tests/test_web_api.py`); 16-bit, CMYK, grey, palette, alpha, EXIF-rotated "
    "→ decoded; 10 000 fuzzed byte strings and 300 random sizes through decoding/preprocessing "
    "(`tests/test_fuzz_decode.py`); schemathesis against the OpenAPI document, 0 server errors "
    "(`tests/test_api_fuzz.py`); malformed WebSocket messages answered and survived.",
    "- Faults: LLM down, slow, HTTP 500, garbage, cut stream, contradicting, dosing, wrong language → "
    "knowledge-base text with the reason (`tests/test_advice.py`); a camera that disappears → clear `SourceLost` "
    "(`tests/test_pipeline.py`); model card or ONNX file missing/corrupt at start-up → message naming the file "
    "(`tests/test_bad_input.py`); clients vanishing mid-upload, stalled uploads → 504 (`tests/test_privacy.py`).",
    "- Limits and security: upload bytes and pixel limits (413), live-session cap (503 + Retry-After), idle "
    "WebSocket timeout, loopback by default and `--expose` to listen elsewhere, optional access token, CSP without "
    "inline script (the page runs under it), nosniff, frame-ancestors 'none', no CORS unless configured "
    "(`tests/test_privacy.py`, `tests/test_web_api.py`); animated images use their first frame; uploads "
    "never spill to a temporary file; no file names or image bytes in logs.",
]


if __name__ == "__main__":
    main()
