/* bcryptprimitives.dll for Debian's wine 8.0, which lacks it: Rust's std
 * asks it for random numbers (ProcessPrng) when a Windows program starts.
 * Built by .ci/windows and placed beside the .exe files it runs under
 * wine; Windows itself has the real DLL. ProcessPrng hands the work to
 * advapi32's SystemFunction036 (RtlGenRandom), which wine has. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
