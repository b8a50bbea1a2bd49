#include "framework/core/ok.h"
#include "datasets/dataset.h"
