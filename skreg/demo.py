"""The regularization study behind ``make demo``: every skreg technique on bundled data.

Run with ``python -m skreg.demo`` (``--quick`` for a smaller, faster run). Each section fits skreg
estimators on data that ships with scikit-learn and prints what the regularizer did.
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_diabetes, load_digits, load_sample_image
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def _header(title):
    print(f"\n== {title}")


def linear_section(quick):
    from skreg import ElasticNetRegressor

    _header("Linear baselines: L2, Elastic Net and L1 on one objective (diabetes)")
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    print(f"{'l1_ratio':>8} {'alpha':>6} {'nonzero coefs':>14} {'test R2':>8}")
    for l1_ratio in (0.0, 0.5, 1.0):
        for alpha in (0.1, 1.0) if quick else (0.01, 0.1, 1.0):
            model = make_pipeline(StandardScaler(), ElasticNetRegressor(alpha, l1_ratio=l1_ratio))
            model.fit(X_train, y_train)
            coef = model[-1].coef_
            n_nonzero = int(np.count_nonzero(coef))
            print(f"{l1_ratio:8.1f} {alpha:6.2f} {n_nonzero:>9} / {coef.size:<3} "
                  f"{model.score(X_test, y_test):8.3f}")
    print("L1 sets weights exactly to zero (feature selection); L2 only shrinks them.")


def quantization_section(quick):
    from skreg import VectorQuantizer

    _header("Vector quantization: colour quantization of china.jpg")
    image = load_sample_image("china.jpg")
    pixels = image.reshape(-1, 3).astype(np.float32) / 255
    n_pixels = len(pixels)
    fit_pixels = pixels[:: 20 if quick else 1]
    palette = np.array(
        [[1, 0, 0], [0, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0], [1, 1, 1]], dtype=np.float32
    )
    print(f"{'codebook':>22} {'bytes':>9} {'MSE':>9} {'perplexity':>11}")
    print(f"{'original (24-bit RGB)':>22} {n_pixels * 3:9d} {0.0:9.5f} {'':>11}")
    for name, quantizer in [
        ("learned, 64 colours", VectorQuantizer(64, random_state=0).fit(fit_pixels)),
        ("fixed 6-colour palette", VectorQuantizer(6, init=palette, max_iter=0).fit(pixels)),
    ]:
        codes = quantizer.transform(pixels)
        n_bytes = codes.nbytes + quantizer.codebook_.size  # one byte per codebook channel
        mse = -quantizer.score(pixels)
        _, perplexity = quantizer.code_usage(pixels)
        print(f"{name:>22} {n_bytes:9d} {mse:9.5f} {perplexity:11.1f}")


def neural_section(quick):
    from skreg import RegularizedNetClassifier

    _header("Neural estimators on digits: each regularizer is a hyperparameter")
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    rng = np.random.default_rng(0)
    noisy = y_train.copy()
    flip = rng.random(len(noisy)) < 0.3
    noisy[flip] = rng.integers(0, 10, flip.sum())
    epochs = 20 if quick else 100
    configs = {
        "unregularized": {},
        "dropout 0.3": {"dropout": 0.3},
        "weight decay 1e-3": {"weight_decay": 1e-3},
        "label smoothing 0.1": {"label_smoothing": 0.1},
        "early stopping": {"early_stopping": True},
        "combination": {"dropout": 0.3, "weight_decay": 1e-3, "label_smoothing": 0.1},
    }
    print(f"{'configuration':>22} {'clean labels':>13} {'30% flipped':>12}")
    for name, params in configs.items():
        scores = []
        for labels in (y_train, noisy):
            model = make_pipeline(
                StandardScaler(),
                RegularizedNetClassifier(max_iter=epochs, random_state=0, **params),
            )
            model.fit(X_train, labels)
            scores.append(model.score(X_test, y_test))
        print(f"{name:>22} {scores[0]:13.3f} {scores[1]:12.3f}")


def weight_sharing_section(quick):
    from skreg import RegularizedNetClassifier

    _header("Weight sharing and augmentation: digits as 8x8 images")
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.25, stratify=y, random_state=0
    )
    epochs = 8 if quick else 60
    cnn = {"architecture": "cnn", "image_shape": (8, 8), "hidden_layer_sizes": (256,),
           "dropout": 0.3, "optimizer": "adamw", "learning_rate_init": 3e-3,
           "learning_rate_schedule": "onecycle", "batch_size": 64}
    configs = {
        "MLP (256, 256, 256)": {"hidden_layer_sizes": (256, 256, 256)},
        "  same, shared layers": {"hidden_layer_sizes": (256, 256, 256),
                                  "share_hidden_layers": True},
        "CNN": cnn,
        "CNN + shifts, rotations": {**cnn, "augment_shift": 1, "augment_rotation": 5.0},
    }
    print(f"{'network':>24} {'parameters':>11} {'test acc':>9} {'fit s':>6}")
    for name, params in configs.items():
        start = time.perf_counter()
        model = RegularizedNetClassifier(max_iter=epochs, random_state=0, **params)
        model.fit(X_train, y_train)
        print(f"{name:>24} {model.n_parameters_:11,d} {model.score(X_test, y_test):9.4f} "
              f"{time.perf_counter() - start:6.1f}")


def adversarial_and_vq_section(quick):
    from skreg import RegularizedNetClassifier, robust_accuracy

    _header("Adversarial training and a VQ bottleneck (standardized digits)")
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    epochs = 15 if quick else 100
    configs = {
        "standard": {},
        "PGD training, eps 0.3": {"adversarial": "pgd", "adversarial_eps": 0.3},
        "VQ bottleneck, 128 codes": {"vq_codes": 128, "vq_ema": True},
        "  without re-seeding": {"vq_codes": 128, "vq_ema": True, "vq_reseed": False},
    }
    print(f"{'training':>25} {'clean acc':>10} {'PGD eps=0.3':>12} {'codes used':>11}")
    for name, params in configs.items():
        model = RegularizedNetClassifier((256,), max_iter=epochs, random_state=0, **params)
        model.fit(X_train, y_train)
        robust = robust_accuracy(model, X_test, y_test, eps=0.3, random_state=0)
        used = f"{model.history_[-1, 'vq_codes_used']} / 128" if "vq_codes" in params else ""
        print(f"{name:>25} {model.score(X_test, y_test):10.4f} {robust:12.4f} {used:>11}")


SECTIONS = [
    linear_section,
    quantization_section,
    neural_section,
    weight_sharing_section,
    adversarial_and_vq_section,
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller, faster run")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    for section in SECTIONS:
        section(args.quick)
    print(f"\ndone in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
