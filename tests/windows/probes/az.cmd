@echo off
if "%AZ_SLEEP%"=="1" "%~dp0wsleep.exe" 40
if "%1"=="version" goto version
echo azure-cli                         2.99.0
echo core                              2.99.0
exit /b 0
:version
echo {"azure-cli": "2.99.0", "azure-cli-core": "2.99.0", "azure-cli-telemetry": "1.1.0", "extensions": {}}
exit /b 0
