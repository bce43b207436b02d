"""The ``ggsltools train``, ``export`` and ``classify`` subcommands."""

from ..classifiers.runtime import PROVIDERS
from ..exceptions import InputError, OutputExistsError
from ._common import report_written

__all__ = []


def _add_train(subparsers):
    parser = subparsers.add_parser(
        "train",
        help="train VGG or SC-VGG networks on a knowledge base (k-fold + run model)",
        description=(
            "Train one network per fold of the knowledge base (tested on its own fold) "
            "and a 'run' network on the whole knowledge base minus its validation rows. "
            "Writes one folder per model (Keras model, description, history) and "
            "test_predictions.ecsv. Needs the [train] extra (TensorFlow)."
        ),
    )
    parser.add_argument("kb", help="knowledge-base file (HDF5)")
    parser.add_argument("--arch", choices=("vgg", "sc-vgg"), default="vgg", help="network (vgg)")
    parser.add_argument(
        "--folds", type=int, help="train the first N folds of the knowledge base (all)"
    )
    parser.add_argument("--no-run", action="store_true", help="do not train the run model")
    parser.add_argument("-o", "--out", required=True, help="output folder")
    parser.add_argument("--epochs", type=int, default=100, help="largest number of epochs (100)")
    parser.add_argument(
        "--batch-size", type=int, help="cutouts per batch (32 for vgg, 16 for sc-vgg)"
    )
    parser.add_argument("--depth", type=int, default=4, help="convolution blocks (4)")
    parser.add_argument("--width", type=int, default=16, help="filters of the first block (16)")
    parser.add_argument(
        "--dense", type=int, nargs="+", default=[128, 64], help="units of the dense layers"
    )
    parser.add_argument("--patience", type=int, default=10, help="early-stopping patience (10)")
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=0.1,
        help="fraction of each fold's training rows used for validation (0.1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted training")
    parser.add_argument(
        "--calibrate", action="store_true", help="fit a temperature on each validation set"
    )
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="suggested threshold stored with the models"
    )
    parser.set_defaults(func=_run_train)


def _run_train(args):
    from ..classifiers.training import PREDICTIONS_FILE, train_kfold
    from ..kb import KnowledgeBase

    with KnowledgeBase(args.kb) as kb:
        predictions = train_kfold(
            kb,
            args.out,
            seed=args.seed,
            folds=args.folds,
            run=not args.no_run,
            validation_fraction=args.validation_fraction,
            resume=args.resume,
            progress=True,
            architecture=args.arch,
            epochs=args.epochs,
            batch_size=args.batch_size,
            depth=args.depth,
            width=args.width,
            dense=args.dense,
            patience=args.patience,
            calibrate=args.calibrate,
            threshold=args.threshold,
        )
    _print_summary(args.out)
    print(f"{len(predictions)} test predictions")
    report_written([f"{args.out}/{PREDICTIONS_FILE}"])
    return 0


def _print_summary(out):
    """One line a model: validation AUC, and the calibration error before and after."""
    import json

    from ..classifiers.training import model_folders

    for folder in model_folders(out):
        info = json.loads((folder / "info.json").read_text())
        m = info["validation_metrics"]
        line = f"{folder.name}: {m['epochs_run']} epochs"
        if "auc" in m:
            line += f", validation AUC {m['auc']:.4f}, ECE {m['ece']:.4f}"
        if "ece_calibrated" in m:
            line += f" -> {m['ece_calibrated']:.4f} (T = {info['temperature']:.3f})"
        print(line)


def _add_export(subparsers):
    parser = subparsers.add_parser(
        "export",
        help="export trained networks to ONNX files with their metadata",
        description=(
            "Convert every model folder written by 'ggsltools train' to an ONNX file "
            "(checked against the network with ONNX Runtime before it is written). "
            "Needs the [train] extra."
        ),
    )
    parser.add_argument("models", help="folder written by 'ggsltools train', or one model folder")
    parser.add_argument("-o", "--out", required=True, help="output folder for the .onnx files")
    parser.add_argument(
        "--quantize",
        action="store_true",
        help="also write int8 models; the export fails if the test AUC of one changes "
        "by more than 0.002",
    )
    parser.add_argument("--kb", help="the training knowledge base (needed by --quantize)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.set_defaults(func=_run_export)


def _run_export(args):
    from ..classifiers.training import export_models

    if args.quantize and args.kb is None:
        raise InputError("--quantize needs --kb (cutouts to calibrate and check on)")
    if args.kb is None:
        paths = export_models(args.models, args.out, overwrite=args.overwrite, progress=True)
    else:
        from ..kb import KnowledgeBase

        with KnowledgeBase(args.kb) as kb:
            paths = export_models(
                args.models,
                args.out,
                quantize=args.quantize,
                kb=kb,
                overwrite=args.overwrite,
                progress=True,
            )
    report_written(paths)
    return 0


def _add_classify(subparsers):
    parser = subparsers.add_parser(
        "classify",
        help="probability that each catalogue object is a galaxy-galaxy lens",
        description=(
            "Cut the images around the catalogue positions, normalise the cutouts as "
            "the models were trained, and run the ONNX models (an ensemble when "
            "several are given) with ONNX Runtime. Writes the catalogue with "
            "probability, probability_std, complete, bin and selected columns."
        ),
    )
    parser.add_argument("--model", nargs="+", required=True, help="ONNX model file(s)")
    parser.add_argument(
        "--images",
        nargs="+",
        required=True,
        metavar="FITS",
        help="one image per band: PATH (band from the FILTER keyword) or BAND=PATH",
    )
    parser.add_argument("--catalogue", required=True, help="catalogue with ra/dec (deg)")
    parser.add_argument("-o", "--out", required=True, help="output table (ECSV)")
    parser.add_argument(
        "--threshold", type=float, help="selection threshold (the model's; 0.5 by default)"
    )
    parser.add_argument("--batch-size", type=int, default=256, help="cutouts per batch (256)")
    parser.add_argument(
        "--provider",
        choices=tuple(PROVIDERS),
        default="auto",
        help="where to run (auto: CUDA when available, else CPU; openvino, openvino-bf16: "
        "OpenVINO on the CPU in float32 or bfloat16, with ggsltools[openvino])",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="threads of the local Dask scheduler, each classifying a chunk of the "
        "catalogue (1: serial)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of a dask.distributed scheduler to classify the chunks on",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.set_defaults(func=_run_classify)


def _band_of(path):
    """The band of a FITS image: its FILTER keyword (primary or first image HDU)."""
    from astropy.io import fits

    try:
        with fits.open(path) as hdul:
            for hdu in hdul:
                for key in ("FILTER", "FILTER1", "FILTER2"):
                    value = str(hdu.header.get(key, "")).strip()
                    if value and not value.upper().startswith("CLEAR"):
                        return value
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    raise InputError(f"{path} has no FILTER keyword; give the band as BAND={path}")


def _image_paths(items):
    paths = {}
    for item in items:
        band, sep, path = item.partition("=")
        if not sep:
            band, path = _band_of(item), item
        if band in paths:
            raise InputError(f"two images of band {band}: {paths[band]} and {path}")
        paths[band] = path
    return paths


def _run_classify(args):
    from pathlib import Path

    import numpy as np

    from ..catalog import read_catalogue
    from ..classifiers.fields import classify_fields
    from ..staging import staged_files

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise OutputExistsError(out)
    if args.workers < 1:
        raise InputError(f"--workers {args.workers} must be at least 1")
    catalogue = read_catalogue(args.catalogue, what="catalogue")
    field = {"name": args.catalogue, "images": _image_paths(args.images), "catalogue": catalogue}
    (table,) = classify_fields(
        args.model,
        [field],
        provider=args.provider,
        threshold=args.threshold,
        batch_size=args.batch_size,
        scheduler=args.scheduler,
        workers=args.workers,
        progress=True,
    )
    print(f"ran {len(args.model)} model(s) on the {table.meta['provider'].upper()} provider")
    with staged_files(out.parent, [out.name], overwrite=args.overwrite) as tmp:
        table.write(tmp / out.name, format="ascii.ecsv")
    n_sel = int(table["selected"].sum())
    print(f"{n_sel} of {len(table)} objects with probability >= {table.meta['threshold']:g}")
    n_out = int(np.count_nonzero(np.isnan(np.asarray(table["probability"], dtype=float))))
    if n_out:
        print(f"{n_out} of {len(table)} objects not classified: their cutouts are not complete")
    report_written([out])
    return 0


SUBCOMMANDS = (_add_train, _add_export, _add_classify)
