/* Stand-in for a Windows program (powershell.exe, pwsh.exe) in the Wine suite
 * (tests/windows_wine.rs): writes the bytes of `<its own path without .exe>.out` to stdout as
 * they are (so a test can serve UTF-8 with a BOM, Shift_JIS or UTF-16LE) and exits 0. Copied
 * under each name it stands in for; the arguments are not looked at.
 *
 * Build: x86_64-w64-mingw32-gcc -municode -O2 -o replay.exe replay.c */
#include <windows.h>
#include <wchar.h>

int wmain(void)
{
    wchar_t path[MAX_PATH + 8];
    DWORD len = GetModuleFileNameW(NULL, path, MAX_PATH);
    HANDLE so = GetStdHandle(STD_OUTPUT_HANDLE);
    if (len == 0 || len < 4) return 70;
    wcscpy(path + len - 4, L".out"); /* X.exe -> X.out */
    HANDLE f = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    if (f == INVALID_HANDLE_VALUE) return 66;
    char buf[65536];
    DWORD n, w;
    while (ReadFile(f, buf, sizeof buf, &n, NULL) && n > 0) WriteFile(so, buf, n, &w, NULL);
    CloseHandle(f);
    return 0;
}
