/* placeholder: being written */
#include "config.h"
extern int eg_placeholder_map_xform;
