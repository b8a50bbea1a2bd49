def augment(images, labels, rng)
    return images, labels
