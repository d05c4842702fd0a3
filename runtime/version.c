/* version.c - the runtime's version, for checkpoints and --version. */
#include "mnet_model.h"

const char *mnet_runtime_version(void)
{
    return "0.1.0";
}

int mnet_runtime_abi(void)
{
    return MNET_MODEL_ABI;
}
