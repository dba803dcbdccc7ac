/* What Wine reports, for the Wine suite (tests/windows_wine.rs) to compare the exe against:
 *
 *   winfacts.exe lang        UI language, user language and code pages, as hex / decimal
 *   winfacts.exe sddl PATH   the owner, group and DACL of a file as SDDL (GetNamedSecurityInfoW:
 *                            what Explorer's Security tab or icacls would show)
 *
 * Output is ASCII, one line. Build: x86_64-w64-mingw32-gcc -municode -O2 -o winfacts.exe
 * winfacts.c -ladvapi32 */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <wchar.h>

int wmain(int argc, wchar_t **argv)
{
    if (argc == 2 && !wcscmp(argv[1], L"lang")) {
        printf("ui=0x%04x user=0x%04x system=0x%04x acp=%u oemcp=%u\n",
               GetUserDefaultUILanguage(), GetUserDefaultLangID(), GetSystemDefaultLangID(),
               GetACP(), GetOEMCP());
        return 0;
    }
    if (argc == 3 && !wcscmp(argv[1], L"sddl")) {
        PSECURITY_DESCRIPTOR sd = NULL;
        SECURITY_INFORMATION what = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION
                                    | DACL_SECURITY_INFORMATION;
        DWORD rc = GetNamedSecurityInfoW(argv[2], SE_FILE_OBJECT, what, NULL, NULL, NULL, NULL, &sd);
        if (rc != ERROR_SUCCESS) {
            printf("error GetNamedSecurityInfoW %lu\n", (unsigned long)rc);
            return 1;
        }
        LPWSTR s = NULL;
        if (!ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1, what, &s, NULL)) {
            printf("error ConvertSecurityDescriptorToStringSecurityDescriptorW %lu\n",
                   (unsigned long)GetLastError());
            return 1;
        }
        printf("%ls\n", s);
        LocalFree(s);
        LocalFree(sd);
        return 0;
    }
    fprintf(stderr, "usage: winfacts.exe lang | sddl PATH\n");
    return 64;
}
