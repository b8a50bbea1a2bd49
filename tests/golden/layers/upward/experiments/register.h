#include "augmentations/method.h"
#include "models/generators/gan.h"
