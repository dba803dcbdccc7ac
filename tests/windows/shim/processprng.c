/* TEST-ONLY shim: never ship this DLL.
 *
 * Rust's std (1.78+) on Windows imports bcryptprimitives.dll!ProcessPrng for its random
 * numbers (HashMap seeds). Debian's Wine 8 has no such export, so the real entra-collect.exe
 * fails to load under Wine. Placed next to the exe, this DLL provides ProcessPrng on top of
 * RtlGenRandom (advapi32!SystemFunction036), which Wine does implement. Windows 10+ has the
 * real export; the release zip never contains this file (scripts/build-windows.sh).
 */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* RtlGenRandom takes a ULONG length: feed it in chunks. */
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    /* Like the real ProcessPrng, which is documented never to fail. */
    return TRUE;
}
