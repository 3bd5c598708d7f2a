// Platforms moved to store/platform.h (and index selection to store/image.h);
// this header remains only until registry/puller.h includes those itself.
#pragma once

#include "store/image.h"
#include "store/platform.h"
