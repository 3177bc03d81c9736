# PLACEHOLDER: replaced by the neural-estimators work (issue 4).
def smooth_labels(y, epsilon, *, n_classes=None, mode="uniform"):
    raise NotImplementedError
