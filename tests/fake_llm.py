"""A real HTTP server on 127.0.0.1 speaking Ollama's /api/chat and OpenAI's /v1/chat/completions,
with a scripted behaviour per test: good, streamed, slow, failing, garbage, contradicting, and the
wording the real 270M model wrote (our prompt echoed, a bare title) or a claim our text does not make."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD_EN = {"description": "Melanoma is a serious skin cancer of the pigment cells that is usually curable "
                          "when it is found and removed early.",
           "care": ["Book a doctor's appointment soon.", "Do not scratch or try to remove it.",
                    "Photograph it with a ruler for the doctor."],
           "when_to_see_doctor": "See a doctor within days for a skin check by a dermatologist."}
GOOD_KO = {"description": "흑색종은 색소세포에서 생기는 심각한 피부암이지만 "
                          "일찍 발견하여 제거하면 대부분 완치할 수 있습니다.",
           "care": ["빨리 진료 예약을 하세요.", "긁거나 스스로 제거하지 마세요."],
           "when_to_see_doctor": "며칠 안에 의사의 진료를 받고 피부과 전문의의 검사를 받으세요."}


class FakeLLM:
    def __init__(self):
        # good | slow | error500 | garbage | not_json | contradict | dosing | wrong_lang | cut | echo | title
        # | ungrounded | control_chars (raw newlines inside the JSON strings, the JSON inside prose and a code fence)
        self.mode = "good"
        self.answer: dict = GOOD_EN
        self.delay = 0.5  # seconds before each piece in mode slow
        self.requests: list[dict] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _text(self) -> str:
        a = dict(self.answer)
        if self.mode == "contradict":
            a["when_to_see_doctor"] = "This is harmless and there is no need to see a doctor."
        if self.mode == "dosing":
            a["care"] = a["care"] + ["Take 400 mg ibuprofen twice a day."]
        if self.mode == "wrong_lang":
            a = GOOD_KO if self.answer is GOOD_EN else GOOD_EN
        if self.mode == "echo":
            a["description"] = ("This is a skin care guidance for the patient, in English only. Use only the facts "
                                "given. Never change the urgency: it is fixed as: ")
        if self.mode == "title":
            a["description"] = "Skin care advice for melanoma"
        if self.mode == "ungrounded":
            a["care"] = a["care"] + ["Apply hydrocortisone cream to the spot each night."]
        if self.mode == "not_json":
            return "Melanoma is serious. See a doctor."
        if self.mode == "control_chars":
            a["description"] = a["description"].replace(" that ", "\n that\t", 1)
            raw = json.dumps(a, ensure_ascii=False).replace("\\n", "\n").replace("\\t", "\t")
            return f"Here is the answer:\n```json\n{raw}\n```\n"
        return json.dumps(a, ensure_ascii=False)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "body": body})
                if fake.mode == "error500":
                    data = b'{"error":"model crashed"}'
                    self.send_response(500)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                text = fake._text()
                pieces = [text[i:i + 12] for i in range(0, len(text), 12)]
                if fake.mode == "cut":
                    pieces = pieces[: len(pieces) // 2]
                try:
                    for _, piece in enumerate(pieces):
                        if fake.mode == "slow":
                            time.sleep(fake.delay)
                        if fake.mode == "garbage":
                            line = "%%% not json at all\n" if self.path == "/api/chat" else "data: %%% not json\n\n"
                        elif self.path == "/api/chat":
                            line = json.dumps({"model": body["model"], "message": {"role": "assistant",
                                               "content": piece}, "done": False}) + "\n"
                        else:
                            line = "data: " + json.dumps({"choices": [{"delta": {"content": piece}}]}) + "\n\n"
                        self._chunk(line.encode())
                    end = (json.dumps({"done": True, "message": {"content": ""}}) + "\n" if self.path == "/api/chat"
                           else "data: [DONE]\n\n")
                    self._chunk(end.encode())
                    self._chunk(b"")
                except OSError:  # the client gave up (timeout test)
                    pass

            def _chunk(self, data: bytes):
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        return Handler
