/* Research probe (Wine): what WinHTTP makes of the machine's proxy (the WinHttpSettings blob)
 * and of the user's IE settings. Build: x86_64-w64-mingw32-gcc -O2 -o winhttp.exe winhttp.c -lwinhttp */
#include <windows.h>
#include <winhttp.h>
#include <stdio.h>

int main(void)
{
    WINHTTP_PROXY_INFO p = {0};
    WINHTTP_CURRENT_USER_IE_PROXY_CONFIG ie = {0};
    if (WinHttpGetDefaultProxyConfiguration(&p))
        printf("default: access=%lu proxy=%ls bypass=%ls\n", (unsigned long)p.dwAccessType,
               p.lpszProxy ? p.lpszProxy : L"(null)", p.lpszProxyBypass ? p.lpszProxyBypass : L"(null)");
    else
        printf("WinHttpGetDefaultProxyConfiguration failed: %lu\n", (unsigned long)GetLastError());
    if (WinHttpGetIEProxyConfigForCurrentUser(&ie))
        printf("ie: autodetect=%d autoconfig=%ls proxy=%ls bypass=%ls\n", ie.fAutoDetect,
               ie.lpszAutoConfigUrl ? ie.lpszAutoConfigUrl : L"(null)",
               ie.lpszProxy ? ie.lpszProxy : L"(null)", ie.lpszProxyBypass ? ie.lpszProxyBypass : L"(null)");
    else
        printf("WinHttpGetIEProxyConfigForCurrentUser failed: %lu\n", (unsigned long)GetLastError());
    return 0;
}
