"""Command-line interface: ``skindoctor <command>``; thin wrappers over the library."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .errors import SkinDoctorError
from .i18n import LANGUAGES

log = logging.getLogger(__name__)

DEFAULT_DATA = Path("../shared/data")
DEFAULT_WEIGHTS = Path("../shared/weights/mobilenet_v2_imagenet_from_coral_tf1qat.pth")


def _load_samples(args):
    """Every ``--data`` given (or ``--csv``), read together."""
    return [s for data in args.data or [str(DEFAULT_DATA)] for s in _read_data(args, Path(data))]


def _read_data(args, data: Path):
    """``--csv``, a collection of shared sets, HAM10000's folder, a ``labels.csv`` set, or a folder per class."""
    from .train.collection import is_collection, read_collection, read_labelled_set
    from .train.data import read_csv, read_folder, read_ham10000

    if args.csv:
        return read_csv(args.csv, data if data.is_dir() else None, args.image_col, args.label_col, args.group_col)
    if is_collection(data):
        return read_collection(data)
    if (data / "metadata.csv").is_file():
        return read_ham10000(data)
    if (data / "labels.csv").is_file():
        return read_labelled_set(data, data.name)
    return read_folder(data)


def cmd_train(args) -> int:
    from .train.train import TrainConfig, train

    flags = dict(out=args.out, weights=args.weights, size=args.size, epochs=args.epochs, batch_size=args.batch_size,
                 lr=args.lr, seed=args.seed, workers=args.workers, max_steps_per_epoch=args.max_steps,
                 steps_per_epoch=args.steps_per_epoch, init_checkpoint=args.init_checkpoint,
                 batchnorm=args.batchnorm, label_smoothing=args.label_smoothing)
    given = {k: v for k, v in flags.items() if v is not None}  # the rest: TrainConfig's defaults, the one place
    if args.init == "random":
        given["weights"] = None
    best = train(_load_samples(args), TrainConfig(**given), args.split)
    print(best)
    return 0


def cmd_train_localizer(args) -> int:
    from .model_card import default_models_dir
    from .train.localizer import attach_to_card, export_localizer, train_localizer

    data = Path(args.data)
    model_dir = Path(args.model_dir or default_models_dir())
    fit = train_localizer(data / "ham10000", Path(args.split), Path(args.weights), Path(args.out), steps=args.steps,
                          batch=args.batch_size, lr=args.lr, threads=args.threads, nonlesion=data / "nonlesion",
                          val_frames=args.val_frames, limit=args.limit, long_side=args.long_side,
                          phone=None if args.no_phone else data)
    spec = export_localizer(fit.model, fit.spec, model_dir, fit.calibration, fit.validation)
    attach_to_card(model_dir, spec)
    print(spec.model_dump_json(indent=2))
    return 0


def _pipeline(args):
    """The settings — the flags given (a flag not given is None) over ``SKINDOCTOR_*``, the model card and
    the built-in defaults — and the pipeline built from them by the one factory."""
    from . import load
    from .config import get_settings

    settings = get_settings(model_dir=args.model_dir, model_variant=args.variant, lang=args.lang,
                            use_llm=getattr(args, "llm", None), hold_seconds=getattr(args, "hold", None),
                            decide_seconds=getattr(args, "decide", None),
                            live_max_rate=getattr(args, "max_rate", None))
    return settings, load(settings=settings)


def cmd_diagnose(args) -> int:
    """Each photo goes through the same gate → localise → crop → classify path as a camera frame."""
    import json

    from .results import analysis_out
    from .vision.image_io import read_image

    settings, pipeline = _pipeline(args)
    failed = 0
    for path in args.images:
        try:
            out = analysis_out(pipeline.analyse(read_image(path)), pipeline.advisor, settings.lang, top_k=args.top_k)
        except SkinDoctorError as e:
            print(f"skindoctor: error: {e}", file=sys.stderr)
            failed += 1
            continue
        if args.json:
            print(json.dumps({"image": str(path), **out.model_dump(mode="json", by_alias=True)}, ensure_ascii=False))
        elif out.top_class is None:
            print(f"{path}: no diagnosis — {out.quality.message}")
        else:
            print(f"{path}: " + ", ".join(f"{t.name} [{t.code}] {t.probability:.1%}" for t in out.top_k))
    return 2 if failed else 0


def cmd_watch(args) -> int:
    import json

    from .results import frame_out
    from .stream.sources import open_source

    settings, pipeline = _pipeline(args)
    advisor, lang = pipeline.advisor, settings.lang
    source = open_source(args.source, fps=args.fps)
    show = _Window() if args.show else None
    last_status = ""
    for result in pipeline.run(source, max_rate=settings.live_max_rate, stop_on_diagnosis=True, keep_frames=True):
        if show:
            show.draw(result)
        advice = None
        if (c := result.confirmation) is not None:  # worded by the LLM when one answers well in time, else the KB's
            advice = advisor.advise_probs(c.probs, lang, not_lesion=c.not_lesion,
                                          candidates=[result.classes[i] for i in c.candidates])
        out = frame_out(result, advisor, lang, advice=advice)
        if args.json:
            print(json.dumps(out.model_dump(mode="json", by_alias=True), ensure_ascii=False), flush=True)
        elif not out.diagnosis:
            status = out.quality.message if not out.quality.ok else (
                f"{out.name} {out.confidence:.0%} — hold {out.hold.progress:.0%}")
            if out.hold.undecided:
                status = out.hold.undecided.message
            if status != last_status:
                print(status, file=sys.stderr, flush=True)
                last_status = status
        if out.diagnosis:
            if not args.json:
                _print_diagnosis(out.diagnosis, advisor, lang)
            if show:
                show.wait()
            return 0
    print("skindoctor: the source ended before a diagnosis was confirmed", file=sys.stderr)
    return 1


def _print_diagnosis(d, advisor, lang) -> None:
    from .advice.knowledge import load_knowledge

    kb = load_knowledge(lang)
    print(f"Confirmed: {d.name} [{d.code}] {d.confidence:.1%} (held {d.held_seconds:.1f} s)")
    if len(d.candidates) > 1:
        print("Candidates (same advice): " + ", ".join(advisor.names(c, kb)[0] for c in d.candidates))
    print(d.advice.as_text())


class _Window:
    """``--show``: an OpenCV window with the box, class, confidence and the hold bar."""

    def __init__(self):
        import cv2

        try:
            cv2.namedWindow("skindoctor", cv2.WINDOW_NORMAL)
        except cv2.error:
            raise SkinDoctorError("--show needs a display and OpenCV with GUI support "
                                  "(pip install opencv-python); use --json without a display") from None

    def draw(self, result) -> None:
        import cv2

        from .stream.overlay import draw_overlay

        cv2.imshow("skindoctor", cv2.cvtColor(draw_overlay(result.frame, result), cv2.COLOR_RGB2BGR))
        cv2.waitKey(1)

    def wait(self) -> None:
        import cv2

        cv2.waitKey(3000)
        cv2.destroyAllWindows()


def cmd_advise(args) -> int:
    import json

    from .advice.advisor import Advisor
    from .config import get_settings
    from .model_card import load_card

    settings = get_settings(model_dir=args.model_dir, lang=args.lang, use_llm=args.llm)
    advisor = Advisor.from_settings(load_card(settings.model_dir), settings=settings)
    advice = advisor.advise(args.code)
    print(json.dumps(advice.model_dump(), ensure_ascii=False, indent=2) if args.json else advice.as_text())
    return 0


def cmd_serve(args) -> int:
    from .config import get_settings
    from .web.security import bind_policy
    from .web.server import serve

    settings = get_settings(model_dir=args.model_dir, model_variant=args.variant, host=args.host, port=args.port,
                            access_token=args.token, lang=args.lang, workers=args.workers,
                            allowed_hosts=args.allowed_host)
    warning = bind_policy(settings.host, args.expose, settings.access_token)
    if warning:
        print(warning, file=sys.stderr)
    app = None  # with several workers, each builds its own app from the environment (the supervisor loads no model)
    if settings.workers == 1:
        from .web.app import create_app

        app = create_app(settings)
    scheme = "https" if args.ssl_certfile else "http"
    print(f"AI Skin Doctor on {scheme}://{settings.host}:{settings.port}/  (kiosk: /kiosk, API docs: /docs)"
          + (f", {settings.workers} worker processes" if settings.workers > 1 else ""), file=sys.stderr)
    serve(settings, app, ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile)
    return 0


def cmd_fetch_browser_runtime(args) -> int:
    from .web import browser_runtime

    fetched = browser_runtime.fetch()
    print(f"onnxruntime-web {browser_runtime.VERSION} {'fetched into' if fetched else 'already in'} "
          f"{browser_runtime.RUNTIME_DIR}", file=sys.stderr)
    return 0


def cmd_bench(args) -> int:
    try:
        from .dev.benchmark import run
    except ImportError:
        raise SkinDoctorError("skindoctor bench runs from a source checkout (pip install -e '.[train,dev]'): "
                              "the benchmark does not ship in the wheel") from None
    from .config import get_settings

    settings = get_settings(model_dir=args.model_dir)
    results = run(Path(settings.model_dir), Path(args.out) if args.out else None, iters=args.iters,
                  frames=args.frames, realtime_seconds=args.realtime_seconds,
                  image=Path(args.image) if args.image else None, data=Path(args.data),
                  peer_python=Path(args.peer_python), accuracy_limit=args.accuracy_limit)
    fl = results["frame_latency"]["total"]
    sp = results["speedup"]
    if sp:
        print(f"int8 ONNX Runtime vs torch eager (p50, best of each): {sp['best_vs_best']:.1f}× faster")
    print(f"per-frame p50 {fl['p50_ms']:.2f} ms; live {results['live']['uncapped']['fps']:.0f} fps uncapped; "
          f"30 fps uses {results['live']['realtime_30fps']['cpu_of_one_core']:.0%} of a core; cold start "
          f"{results['cold_start']['best_s']:.2f} s" + (f"; report: {args.out}" if args.out else ""))
    return 0


def cmd_export(args) -> int:
    from .train.collection import EVERYDAY, apply_split
    from .train.export import export, export_images
    from .train.provenance import card_extra

    samples = _load_samples(args)
    split = apply_split(samples, args.split)
    calibration, val, quant_check = export_images(samples, split, args.calibration_images)
    extra = card_extra(Path(args.data[0] if args.data else DEFAULT_DATA))
    parts = [[s for s in samples if split[str(s.path)] == part] for part in ("train", "val")]
    everyday = any(s.domain == EVERYDAY for s in samples)  # without everyday photos there is nothing to tell skin from
    card = export(args.checkpoint, args.model_dir, calibration, val, card_extra=extra,
                  quant_check=quant_check, photos=tuple(parts) if everyday else None)
    print(f"wrote {', '.join(card.files.values())} and model_card.json to {args.model_dir}")
    return 0


def cmd_evaluate(args) -> int:
    """With --split: thresholds chosen on the validation part, then each domain's test part.
    Without: the whole labelled set is one external test set, scored with the card's thresholds."""
    from .model_card import load_card
    from .train import report
    from .train.collection import apply_split
    from .train.evaluate import by_domain, compare_variants, evaluate_sets

    samples = _load_samples(args)
    aspect = _aspect(args.aspect)
    if args.split:
        split = apply_split(samples, args.split)
        val = by_domain([s for s in samples if split[str(s.path)] == "val"])
        test = {"_".join(filter(None, (args.name or d, "test"))): v for d, v in
                by_domain([s for s in samples if split[str(s.path)] == "test"]).items()}
        results = evaluate_sets(args.model_dir, test, args.docs, val=val, aspect=aspect, variant=args.variant)
        codes = {c.code for c in load_card(args.model_dir).lesion_classes()}
        q = compare_variants(args.model_dir, [s for s in samples if split[str(s.path)] == "test" and s.label in codes])
        card = load_card(args.model_dir)
        card.metrics = {**card.metrics, "int8_vs_fp32": q}
        card.save(args.model_dir)
        if "top1_agreement" in q:
            print(f"int8 vs fp32 on {q['images']} test lesion photos: top-1 agreement {q['top1_agreement']:.4f}, "
                  f"accuracy drop {q['accuracy_drop_points']:.2f} points")
    else:
        name = args.name or Path(args.data[0] if args.data else DEFAULT_DATA).name
        results = evaluate_sets(args.model_dir, {name: samples}, args.docs, aspect=aspect, variant=args.variant)
    report.write(load_card(args.model_dir), Path(args.docs) / "model_card.md")
    for name, m in results.items():
        parts = [f"{name}: {m['n']} photos"]
        for key, label in (("balanced_accuracy", "balanced accuracy"), ("macro_auc", "macro AUC"), ("ece", "ECE"),
                           ("false_reassurance", "false reassurance"), ("benign_referral", "benign referral"),
                           ("wrongly_rejected", "lesions rejected"), ("nonlesion_rejected", "non-lesions rejected")):
            if m.get(key) is not None:
                parts.append(f"{label} {m[key]:.3f}")
        if m.get("malignant", {}).get("sensitivity") is not None:
            parts.append(f"malignant sensitivity {m['malignant']['sensitivity']:.3f} / specificity "
                         f"{m['malignant']['specificity']:.3f}")
        print(", ".join(parts))
    return 0


def _aspect(text: str | None) -> float | None:
    """'4:3' → 1.333…"""
    if not text:
        return None
    try:
        w, h = (float(x) for x in text.split(":"))
        return w / h
    except ValueError:
        raise SkinDoctorError(f"--aspect must look like 4:3, got {text!r}") from None


def cmd_import_h5(args) -> int:
    try:
        from .train.h5import import import_h5
    except ImportError as e:
        raise SkinDoctorError("import-h5 needs the [keras] extra: pip install 'skindoctor[keras]' "
                              f"({e.name} missing)") from None
    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    card = import_h5(args.model, classes, args.model_dir, args.name, args.preprocessing, args.calibration_images)
    print(f"wrote {', '.join(card.files.values())} and model_card.json to {args.model_dir}")
    return 0


def _add_data_args(t: argparse.ArgumentParser) -> None:
    t.add_argument("--data", action="append",
                   help="(repeatable; default ../shared/data) the shared data folder (ham10000/, "
                        "pad_ufes_20_partial/, nonlesion/, …: trains on all), "
                        "HAM10000's folder (metadata.csv), a set with labels.csv (filename,label,group), "
                        "or a folder with one sub-folder per class")
    t.add_argument("--csv", help="a CSV of image + label instead (HAM10000 metadata columns by default)")
    t.add_argument("--image-col", default="image_id")
    t.add_argument("--label-col", default="dx")
    t.add_argument("--group-col", default="lesion_id", help="column that groups images of one lesion")


def _add_model_args(t: argparse.ArgumentParser) -> None:
    t.add_argument("--model-dir", help="folder with model_card.json and the ONNX files (default: models/)")
    t.add_argument("--variant", help="fp32 or int8 (default: the card's default)")


def _setting(text: str, name: str) -> str:
    """Help for a flag over a setting: its built-in default (config.py's) and its environment variable."""
    from .config import default

    return f"{text} (default {default(name)}, or SKINDOCTOR_{name.upper()})"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="skindoctor", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="log progress (training, export, evaluation)")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="fine-tune MobileNetV2 on a lesion dataset (needs the [train] extra)",
                       description="Flags not given take TrainConfig's defaults (skindoctor/train/train.py). "
                                   "Under torchrun (torchrun --nproc_per_node=N -m skindoctor.cli train ...) it "
                                   "trains data-parallel on N processes; rank 0 writes --out.")
    _add_data_args(t)
    t.add_argument("--weights", help="local ImageNet MobileNetV2 state dict")
    t.add_argument("--init", choices=["imagenet", "random"], default="imagenet")
    t.add_argument("--out", help="run folder: checkpoints, log, split (resumes if present)")
    t.add_argument("--split", help="reuse this split CSV instead of making one")
    t.add_argument("--size", type=int)
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int, help="per process: under torchrun the global batch is N times this")
    t.add_argument("--lr", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--workers", type=int)
    t.add_argument("--max-steps", type=int, help="cap steps per epoch (quick trials)")
    t.add_argument("--steps-per-epoch", type=int,
                   help="(global) batches per epoch (default: one pass over the training set)")
    t.add_argument("--init-checkpoint", help="start from a trained checkpoint instead (e.g. models/skindoctor-mnv2.pt)")
    t.add_argument("--batchnorm", choices=["restore", "freeze"],
                   help="restore: measure real BN statistics and train BN; freeze: keep the folded ImageNet BN")
    t.add_argument("--label-smoothing", type=float)
    t.set_defaults(func=cmd_train)

    lz = sub.add_parser("train-localizer", help="train the learned lesion localiser on camera-like frames made from "
                                                "HAM10000 photos and masks → ONNX in the model card (needs [train])")
    lz.add_argument("--data", default=str(DEFAULT_DATA),
                    help="the shared data folder (ham10000/ with masks/, nonlesion/, pad_ufes_20_partial/, "
                         "pad_ufes_20_more/, pad_ufes_20_masks/)")
    lz.add_argument("--split", default="models/split.csv", help="split by lesion (the classifier's own)")
    lz.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="local ImageNet MobileNetV2 state dict")
    lz.add_argument("--out", default="runs/localizer", help="checkpoints and log (resumes if present)")
    lz.add_argument("--model-dir", help="where the ONNX files go and whose card names them (default: models/)")
    lz.add_argument("--steps", type=int, default=4000)
    lz.add_argument("--batch-size", type=int, default=24)
    lz.add_argument("--lr", type=float, default=2e-3)
    lz.add_argument("--threads", type=int, default=2)
    lz.add_argument("--val-frames", type=int, default=600, help="validation frames (step choice and threshold)")
    lz.add_argument("--limit", type=int, help="at most this many photos per split (quick trials)")
    lz.add_argument("--long-side", type=int, default=128, help="the frame's long side at the network's input")
    lz.add_argument("--no-phone", action="store_true", help="train on HAM10000 frames only")
    lz.set_defaults(func=cmd_train_localizer)

    d = sub.add_parser("diagnose", help="classify lesion photos and print calibrated top-k")
    d.add_argument("images", nargs="+", help="image files")
    d.add_argument("--json", action="store_true", help="one JSON object per image")
    d.add_argument("--top-k", type=int, default=3)
    d.add_argument("--lang", choices=LANGUAGES, help=_setting("language of the names and messages", "lang"))
    _add_model_args(d)
    d.set_defaults(func=cmd_diagnose)

    w = sub.add_parser("watch", help="live recognition from a camera, video, folder or stream URL")
    w.add_argument("--source", default="0", help="camera index (0), video file, image folder, or rtsp/http URL")
    w.add_argument("--show", action="store_true", help="show a window with the box, class and hold progress")
    w.add_argument("--json", action="store_true", help="print one JSON line per processed frame")
    w.add_argument("--hold", type=float, help=_setting("seconds a class must hold to be confirmed", "hold_seconds"))
    w.add_argument("--decide", type=float, help=_setting(
        "seconds with a lesion in view and no result before saying why and what to do", "decide_seconds"))
    w.add_argument("--max-rate", type=float, help=_setting("frames analysed per second at most", "live_max_rate"))
    w.add_argument("--fps", type=float, default=10.0, help="frame rate assumed for an image folder")
    w.add_argument("--lang", choices=LANGUAGES, help=_setting("language of the messages and advice", "lang"))
    w.add_argument("--llm", action=argparse.BooleanOptionalAction, default=None,
                   help="word the advice with the LLM (default: when one is configured and reachable)")
    _add_model_args(w)
    w.set_defaults(func=cmd_watch)

    sv = sub.add_parser("serve", help="web app: camera page (/), kiosk (/kiosk), REST API (/docs)")
    sv.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    sv.add_argument("--port", type=int, default=None, help="default 8000")
    sv.add_argument("--expose", action="store_true", help="allow listening on a non-loopback address")
    sv.add_argument("--token", help="access token clients must send (Bearer header, ?token= or cookie)")
    sv.add_argument("--ssl-certfile", help="TLS certificate (phones only give the camera to HTTPS pages on the LAN)")
    sv.add_argument("--ssl-keyfile", help="TLS private key")
    sv.add_argument("--lang", choices=LANGUAGES, help=_setting("the page's first language", "lang"))
    sv.add_argument("--workers", type=int, help=_setting("server processes (each loads the model; behind a proxy, "
                                                         "see docs/deployment.md)", "workers"))
    sv.add_argument("--allowed-host", action="append", help="a Host name clients use besides loopback and --host "
                    "(repeatable; e.g. the proxy's public name; SKINDOCTOR_ALLOWED_HOSTS as a JSON list)")
    _add_model_args(sv)
    sv.set_defaults(func=cmd_serve)

    fr = sub.add_parser("fetch-browser-runtime", help="download onnxruntime-web (pinned, checked) for the page's "
                        "on-device mode; the install step runs it")
    fr.set_defaults(func=cmd_fetch_browser_runtime)

    b = sub.add_parser("bench", help="measure speed, memory and sizes on this machine → docs/benchmarks.md")
    b.add_argument("--model-dir", help="default: models/")
    b.add_argument("--out", default="docs/benchmarks.md", help="report path ('' to skip writing)")
    b.add_argument("--iters", type=int, default=300, help="timed iterations per model configuration")
    b.add_argument("--frames", type=int, default=150, help="frames for the per-frame latency")
    b.add_argument("--realtime-seconds", type=float, default=10.0, help="length of the real-time 30 fps run")
    b.add_argument("--image", help="a real lesion photo for the clip, the upload test and the peer "
                   "(default: the first photo of the model's test split, if --data holds it)")
    b.add_argument("--data", default=str(DEFAULT_DATA / "ham10000"), help="HAM10000 folder, for fp32 vs int8 accuracy")
    b.add_argument("--accuracy-limit", type=int, help="test images to score at most (default: all)")
    b.add_argument("--peer-python", default="bench/.venv-sklesion/bin/python",
                   help="python of the sklesion virtual environment (see bench/sklesion_peer.py); skipped if absent")
    b.set_defaults(func=cmd_bench)

    a = sub.add_parser("advise", help="care guidance for a class (knowledge base, or the LLM's wording)")
    a.add_argument("code", help="class code, e.g. mel")
    a.add_argument("--lang", choices=LANGUAGES, help=_setting("language of the advice", "lang"))
    a.add_argument("--llm", action=argparse.BooleanOptionalAction, default=None,
                   help="word the advice with the LLM (default: on, falling back to the knowledge base)")
    a.add_argument("--json", action="store_true")
    a.add_argument("--model-dir", help="folder with model_card.json (for the class list and thresholds)")
    a.set_defaults(func=cmd_advise)

    e = sub.add_parser("export", help="checkpoint → ONNX fp32 + int8 + model card (needs [train])")
    e.add_argument("checkpoint", help="best.pt from skindoctor train")
    _add_data_args(e)
    e.add_argument("--split", required=True, help="split CSV written by training")
    e.add_argument("--model-dir", default="models")
    e.add_argument("--calibration-images", type=int, default=300)
    e.set_defaults(func=cmd_export)

    v = sub.add_parser("evaluate", help="per-domain metrics through the product's photo path → docs/model_card.md")
    _add_data_args(v)
    v.add_argument("--split", help="split CSV written by training: thresholds are chosen on its val part and each "
                                   "domain's test part is scored (without it, the whole set is one test set)")
    v.add_argument("--name", help="name of the set in the report (default: the data folder's name)")
    v.add_argument("--aspect", help="restore squashed photos to this width:height first (e.g. 4:3)")
    v.add_argument("--model-dir", default="models")
    v.add_argument("--variant", help="fp32 or int8 (default: the card's default)")
    v.add_argument("--docs", default="docs")
    v.set_defaults(func=cmd_evaluate)

    h = sub.add_parser("import-h5", help="Keras .h5 classifier → ONNX + model card (needs [keras])")
    h.add_argument("model", help="the Keras .h5 file")
    h.add_argument("--classes", required=True, help="comma-separated class codes in the model's output order")
    h.add_argument("--model-dir", default="models/imported", help="where to write the ONNX files and card")
    h.add_argument("--name", help="file name stem (default: the .h5 file's)")
    h.add_argument("--preprocessing", choices=["tf", "torch", "unit"], default="tf",
                   help="what the Keras model expects: tf = x/127.5-1 (MobileNetV2 default), torch = ImageNet "
                        "mean/std, unit = x/255")
    h.add_argument("--calibration-images", help="folder-per-class images to calibrate an int8 copy on")
    h.set_defaults(func=cmd_import_h5)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except SkinDoctorError as e:
        print(f"skindoctor: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
