#ifndef COMARCA_CARGON2_SHIM_H
#define COMARCA_CARGON2_SHIM_H

// Debian's libargon2 (the reference implementation): argon2id_hash_encoded, argon2id_verify
// (constant-time comparison of the tag) and argon2_encodedlen.
#include <argon2.h>

#endif
