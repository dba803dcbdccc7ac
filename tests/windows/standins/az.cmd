@echo off
REM Stand-in for Azure CLI's launcher, shaped like the MSI's wbin\az.cmd
REM (Azure/azure-cli build_scripts/windows/scripts/az_msi.cmd): the arguments travel on as %*
REM to ..\python.exe (here tests/windows/standins/fakepython.c).
REM `@echo off` is ours: the original has none, and Windows' cmd prints none of it because `::`
REM lines are labels and `@` silences a whole `@IF (...)` block; Wine's cmd 8.0 echoes both,
REM which would put the command line, %* expanded, into az's output.
IF EXIST "%~dp0\..\python.exe" (
  SET AZ_INSTALLER=MSI
  "%~dp0\..\python.exe" -IBm azure.cli %*
) ELSE (
  echo Failed to load python executable.
  exit /b 1
)
