/* crc32c — CRC-32C (Castagnoli), the checksum of the node's log records, metadata record,
 * snapshots and peer frames. Pure; thread-safe (the table is computed at compile time). */
#ifndef NODE_CRC32C_H
#define NODE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: crc32c(0, ...) starts one; crc32c(crc32c(0, a), b) == crc32c(0, a||b). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
