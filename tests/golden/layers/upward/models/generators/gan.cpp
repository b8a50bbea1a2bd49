#include "models/generators/gan.h"
#include "datasets/dataset.h"
#include "framework/core/ok.h"
