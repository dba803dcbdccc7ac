/* Research probe (Wine): can Winsock reach a server on the host's loopback?
 * Usage: winsock.exe PORT   (sends a GET /, prints the first response line)
 * Build: x86_64-w64-mingw32-gcc -O2 -o winsock.exe winsock.c -lws2_32 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    WSADATA w;
    struct sockaddr_in a = {0};
    char buf[512];
    int n;
    SOCKET s;
    if (argc < 2 || WSAStartup(MAKEWORD(2, 2), &w)) return 2;
    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) {
        printf("connect failed: WSA error %d\n", WSAGetLastError());
        return 1;
    }
    send(s, "GET / HTTP/1.0\r\nHost: x\r\n\r\n", 27, 0);
    n = recv(s, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    printf("received %d bytes: %.*s\n", n, (int)strcspn(buf, "\r\n"), buf);
    closesocket(s);
    return 0;
}
