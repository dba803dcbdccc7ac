/* Research probe (Wine): which code pages does a console program see?
 * Build: x86_64-w64-mingw32-gcc -O2 -o codepage.exe codepage.c */
#include <windows.h>
#include <stdio.h>

int main(void)
{
    printf("GetACP=%u GetOEMCP=%u GetConsoleCP=%u GetConsoleOutputCP=%u\n",
           GetACP(), GetOEMCP(), GetConsoleCP(), GetConsoleOutputCP());
    printf("stdout type=%lu\n", (unsigned long)GetFileType(GetStdHandle(STD_OUTPUT_HANDLE)));
    return 0;
}
