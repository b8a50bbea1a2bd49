#include "experiments/register.h"
#include "framework/core/ok.h"
#include "models/generators/gan.h"
#include <vector>
