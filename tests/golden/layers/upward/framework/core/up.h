#pragma once
#include "framework/core/ok.h"
#include "experiments/register.h"
