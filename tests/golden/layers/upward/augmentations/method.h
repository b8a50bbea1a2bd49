#include "models/generators/gan.h"
#include "datasets/dataset.h"
#include "augmentations/method.h"
