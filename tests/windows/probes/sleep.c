/* Research probe (Wine): sleep N seconds (a child that stays alive for tasklist / Ctrl-C tests).
 * Build: x86_64-w64-mingw32-gcc -O2 -o sleep.exe sleep.c */
#include <windows.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    Sleep((DWORD)(argc > 1 ? atoi(argv[1]) : 30) * 1000);
    return 0;
}
