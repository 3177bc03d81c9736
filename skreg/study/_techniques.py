"""What each regularizer does, in a few sentences, with the paper it comes from (for the report)."""

TECHNIQUES = {
    "dropout": (
        "During training every hidden unit is zeroed with probability p and the kept units are "
        "scaled by 1/(1−p) (inverted dropout), so nothing changes at prediction time. Units "
        "cannot rely on one another; the net behaves like an average of many thinned nets.",
        "Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov (2014), Dropout: a simple "
        "way to prevent neural networks from overfitting, JMLR 15.",
    ),
    "weight decay": (
        "Shrinks the weight matrices towards zero (biases and normalization parameters are left "
        "alone). With Adam or SGD it is the gradient of (λ/2)·Σw² added to the loss gradient, "
        "which Adam then rescales per weight; with AdamW it is decoupled, each step also "
        "multiplying the weights by (1 − lr·λ). The two are not the same regularizer under "
        "Adam.",
        "Krogh & Hertz (1992), A simple weight decay can improve generalization, NeurIPS 4; "
        "Loshchilov & Hutter (2019), Decoupled weight decay regularization, ICLR.",
    ),
    "L1": (
        "Adds λ·Σ|w| over the weight matrices to the loss, pushing many weights towards zero. "
        "Trained by (sub)gradient steps the weights become small rather than exactly zero; "
        "exact zeros are what the Lasso's coordinate descent gives a linear model.",
        "Tibshirani (1996), Regression shrinkage and selection via the lasso, JRSS B 58.",
    ),
    "label smoothing": (
        "Trains a classifier against (1−ε)·onehot + ε/K instead of the one-hot label (K "
        "classes, the true one included: PyTorch's convention), so the net is not pushed to "
        "ever larger logits; it also softens the pull of mislabelled examples.",
        "Szegedy, Vanhoucke, Ioffe, Shlens & Wojna (2016), Rethinking the Inception "
        "architecture for computer vision, CVPR; Müller, Kornblith & Hinton (2019), When does "
        "label smoothing help?, NeurIPS.",
    ),
    "early stopping": (
        "Holds out part of the training data, stops when its loss has not improved for a few "
        "epochs, and restores the weights of the best epoch. The number of epochs becomes the "
        "regularization strength (the iterations and best epoch columns); the held-out part "
        "is not trained on.",
        "Prechelt (1998), Early stopping — but when?, Neural Networks: Tricks of the Trade, "
        "LNCS 1524.",
    ),
    "batch norm": (
        "Normalizes each hidden pre-activation over the mini-batch, then rescales it with "
        "learned parameters. It was designed to ease optimization; its regularizing effect is "
        "a side effect of the noise of mini-batch statistics and is not guaranteed.",
        "Ioffe & Szegedy (2015), Batch normalization: accelerating deep network training by "
        "reducing internal covariate shift, ICML.",
    ),
    "input noise": (
        "Adds Gaussian noise of standard deviation σ to every input of each training batch. "
        "For small noise this is equivalent to a Tikhonov (smoothness) penalty on the function "
        "the net learns; σ is in the units of the (standardized) features.",
        "Bishop (1995), Training with noise is equivalent to Tikhonov regularization, Neural "
        "Computation 7.",
    ),
    "mixup": (
        "Trains on convex combinations of pairs of examples and of their (one-hot) targets, "
        "with weight λ ~ Beta(α, α): the net is asked to behave linearly between examples.",
        "Zhang, Cisse, Dauphin & Lopez-Paz (2018), mixup: beyond empirical risk minimization, "
        "ICLR.",
    ),
    "augmentation": (
        "Shifts (by one pixel) and rotates the training images at random, new draws every "
        "epoch, never at prediction time: the net sees the variations the label does not "
        "depend on.",
        "Simard, Steinkraus & Platt (2003), Best practices for convolutional neural networks "
        "applied to visual document analysis, ICDAR.",
    ),
    "adversarial": (
        "Also trains on inputs moved by ε in the direction that most increases the loss "
        "(FGSM: x + ε·sign(∇ₓ loss)), mixing the loss on them into the training loss. It buys "
        "robustness to such perturbations, often at some cost in clean accuracy.",
        "Goodfellow, Shlens & Szegedy (2015), Explaining and harnessing adversarial examples, "
        "ICLR; Madry et al. (2018), Towards deep learning models resistant to adversarial "
        "attacks, ICLR.",
    ),
    "L2 (ridge)": (
        "Least squares (or logistic loss) plus (α/2)·‖w‖²: every weight is shrunk, none is "
        "set to zero; correlated features share their weight.",
        "Hoerl & Kennard (1970), Ridge regression: biased estimation for nonorthogonal "
        "problems, Technometrics 12.",
    ),
    "L1 (lasso)": (
        "The loss plus α·‖w‖₁: above some α weights are exactly zero, so the model selects "
        "features; among correlated features it tends to keep one.",
        "Tibshirani (1996), Regression shrinkage and selection via the lasso, JRSS B 58.",
    ),
    "elastic net": (
        "The loss plus α·(½‖w‖₁ + ¼‖w‖²) (l1_ratio 0.5): sparse like the Lasso, but groups of "
        "correlated features are kept together, as ridge does.",
        "Zou & Hastie (2005), Regularization and variable selection via the elastic net, "
        "JRSS B 67.",
    ),
    "codebook size": (
        "The number of k-means codes each row is rounded to. Fewer codes give a coarser, more "
        "compressed representation (a stronger bottleneck) and a larger reconstruction error; "
        "the score is minus the mean squared error of the rebuilt rows.",
        "Lloyd (1982), Least squares quantization in PCM, IEEE Trans. Information Theory 28; "
        "Gray (1984), Vector quantization, IEEE ASSP Magazine 1.",
    ),
    "path CV": (
        "ElasticNetRegressorCV / ElasticNetClassifierCV choose alpha and l1_ratio themselves, "
        "by an inner 3-fold cross-validation (stratified for classifiers, shuffled with the "
        "study's seed when the outer folds are) along warm-started regularization paths, "
        "every l1_ratio of the three sweeps on the union of their alpha grids; here that "
        "choice is made inside each outer training fold and scored on its test fold: what you "
        "get by handing the choice to the estimator.",
        "Friedman, Hastie & Tibshirani (2010), Regularization paths for generalized linear "
        "models via coordinate descent, Journal of Statistical Software 33.",
    ),
    "combination": (
        "The best setting of every regularizer whose verdict is \"helps\" on its own, merged "
        "into one model; when two set the same hyperparameter (the linear penalties all set "
        "alpha), the one with the better score is kept. Its settings were chosen on these "
        "same folds, so its gain is optimistic. Regularizers interact: their gains rarely add "
        "up, and two can undo each other.",
        "",
    ),
}


def explain(name):
    """``(what it does, reference)`` for a sweep name; a generic line for a hyperparameter."""
    return TECHNIQUES.get(name, (f"The hyperparameter {name}, swept as given.", ""))
