"""The no-op Python method of bench_python_method: the cost of the call itself."""


def augment(images, labels, rng):
    return images, labels
