# entra-collect inventory script.
# Read-only facts about the PowerShell that runs it, printed as ONE JSON object between marker
# lines on stdout. It never signs in, never reads a token cache, never changes any setting.
# Works in Windows PowerShell 5.1 and PowerShell 7+. Run with -NoProfile -NonInteractive.
#
# One part per process, chosen by $EntraCollectPart (entra-collect prepends the assignment):
#   base  versions, installed modules, retired modules, execution policies; imports nothing
#   az    imports Az.Accounts: Get-AzContext -ListAvailable, Get-AzConfig
#   mg    imports Microsoft.Graph.Authentication and reports only whether that worked
# Az.Accounts and Microsoft.Graph.Authentication are never imported into the same process:
# in Windows PowerShell 5.1 their assemblies conflict (msgraph-sdk-powershell #2148, #3479),
# which would report a failure the user's own session does not have.
# Get-MgContext is not asked: it returns the in-process AuthContext that only Connect-MgGraph
# sets, so in a new process it is always null (msgraph-sdk-powershell GetMGContext.cs, #3587).
# By hand: $EntraCollectPart = 'az'; . .\inventory.ps1
#
# [Console]::OutputEncoding is deliberately NOT set: on Windows its setter calls
# SetConsoleOutputCP (dotnet/runtime ConsolePal.Windows.cs), which changes the code page of the
# console shared with the user's shell and with netsh/reg running in parallel. Instead the JSON
# is pure ASCII (every other character as \uXXXX), so any output encoding decodes it alike.
$ErrorActionPreference = 'SilentlyContinue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
if (-not $EntraCollectPart) { $EntraCollectPart = 'base' }

# ConvertTo-Json in Windows PowerShell 5.1 leaves non-ASCII characters as they are; escape them.
# Outside strings JSON is ASCII already, so escaping every char above 0x7E is always valid JSON
# (a surrogate pair becomes two escapes, as JSON wants).
function ConvertTo-AsciiJson {
    param($InputObject)
    $json = ConvertTo-Json -InputObject $InputObject -Depth 6 -Compress
    $sb = New-Object System.Text.StringBuilder
    foreach ($ch in $json.ToCharArray()) {
        $code = [int]$ch
        if ($code -gt 126) { [void]$sb.Append('\u').Append($code.ToString('x4')) }
        else { [void]$sb.Append($ch) }
    }
    return $sb.ToString()
}

function Get-ModuleList {
    param([string[]]$Names)
    $list = New-Object System.Collections.ArrayList
    foreach ($m in @(Get-Module -ListAvailable -Name $Names)) {
        $pre = $null
        try { $pre = $m.PrivateData.PSData.Prerelease } catch { }
        [void]$list.Add([ordered]@{
            name       = $m.Name
            version    = $m.Version.ToString()
            prerelease = $pre
            path       = $m.ModuleBase
        })
    }
    return , $list.ToArray()
}

# Import one module and say how that went; the error id tells an execution-policy block
# (UnauthorizedAccess, PSSecurityException) from anything else.
function Test-ModuleImport {
    param([string]$Name)
    $r = [ordered]@{ module = $Name; imported = $false; version = $null; error = $null; error_id = $null; exception_type = $null }
    try {
        $loaded = @(Import-Module $Name -ErrorAction Stop -PassThru | Where-Object { $_.Name -eq $Name })
        $r.imported = $true
        if ($loaded.Count -gt 0) { $r.version = $loaded[0].Version.ToString() }
    } catch {
        $r.error = $_.Exception.Message
        $r.error_id = "$($_.FullyQualifiedErrorId)"
        $r.exception_type = $_.Exception.GetType().FullName
    }
    return $r
}

$result = [ordered]@{ schema = 2; part = $EntraCollectPart }

if ($EntraCollectPart -eq 'base') {
    $psv = [ordered]@{}
    foreach ($key in $PSVersionTable.Keys) {
        $value = $PSVersionTable[$key]
        if ($value -is [array]) { $psv[$key] = @($value | ForEach-Object { "$_" }) }
        else { $psv[$key] = "$value" }
    }
    $result.psversiontable = $psv

    $runtime = $null
    $osDescription = $null
    $processArch = $null
    try {
        $runtime = [System.Runtime.InteropServices.RuntimeInformation]::FrameworkDescription
        $osDescription = [System.Runtime.InteropServices.RuntimeInformation]::OSDescription
        $processArch = "$([System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture)"
    } catch { }
    if (-not $runtime) { $runtime = '.NET CLR ' + [Environment]::Version.ToString() }
    if (-not $osDescription) { $osDescription = [Environment]::OSVersion.VersionString }
    if (-not $processArch) { if ([Environment]::Is64BitProcess) { $processArch = 'X64' } else { $processArch = 'X86' } }
    $result.dotnet_runtime = $runtime
    $result.os_description = $osDescription
    $result.process_architecture = $processArch
    try { $result.executable = (Get-Process -Id $PID).Path } catch { $result.executable = $null }
    # The TLS versions .NET Framework clients offer (Windows PowerShell 5.1 defaults can exclude TLS 1.2).
    try { $result.security_protocol = [string][Net.ServicePointManager]::SecurityProtocol } catch { $result.security_protocol = $null }
    $result.psmodulepath = @($env:PSModulePath -split [IO.Path]::PathSeparator | Where-Object { $_ })
    $result.modules = Get-ModuleList -Names @('Az', 'Az.Accounts', 'Microsoft.Graph', 'Microsoft.Graph.Authentication')
    # Retired modules that clash with Az / Graph when loaded side by side (same cmdlet names or
    # older copies of the same assemblies).
    $result.retired_modules = Get-ModuleList -Names @('AzureRM', 'AzureRM.Profile', 'AzureAD', 'AzureADPreview', 'MSOnline')
    # Group Policy (MachinePolicy / UserPolicy) wins over -ExecutionPolicy Bypass on the command line.
    $policies = New-Object System.Collections.ArrayList
    foreach ($p in @(Get-ExecutionPolicy -List)) {
        [void]$policies.Add([ordered]@{ scope = "$($p.Scope)"; policy = "$($p.ExecutionPolicy)" })
    }
    $result.execution_policies = $policies.ToArray()
    $result.effective_execution_policy = "$(Get-ExecutionPolicy)"
}

# Sign-in contexts. These cmdlets only report what the module keeps; no token is printed.
if ($EntraCollectPart -eq 'az' -and (Get-Module -ListAvailable -Name Az.Accounts)) {
    $result.import = Test-ModuleImport -Name 'Az.Accounts'
    if ($result.import.imported) {
        try {
            $current = Get-AzContext
            $contexts = New-Object System.Collections.ArrayList
            foreach ($c in @(Get-AzContext -ListAvailable)) {
                [void]$contexts.Add([ordered]@{
                    name              = $c.Name
                    account_id        = "$($c.Account.Id)"
                    account_type      = "$($c.Account.Type)"
                    tenant_id         = "$($c.Tenant.Id)"
                    environment       = "$($c.Environment.Name)"
                    subscription_id   = "$($c.Subscription.Id)"
                    subscription_name = "$($c.Subscription.Name)"
                    is_current        = ($null -ne $current -and $c.Name -eq $current.Name)
                })
            }
            $result.az_contexts = $contexts.ToArray()
            # PSConfig (azure-powershell src/Accounts/Authentication/Config/Models/PSConfig.cs) has
            # Key, Value, Scope and AppliesTo; there is no Level.
            $config = New-Object System.Collections.ArrayList
            foreach ($item in @(Get-AzConfig)) {
                [void]$config.Add([ordered]@{
                    key        = "$($item.Key)"
                    value      = "$($item.Value)"
                    scope      = "$($item.Scope)"
                    applies_to = "$($item.AppliesTo)"
                })
            }
            $result.az_config = $config.ToArray()
        } catch { $result.az_error = $_.Exception.Message }
    } else { $result.az_error = $result.import.error }
}
if ($EntraCollectPart -eq 'mg' -and (Get-Module -ListAvailable -Name Microsoft.Graph.Authentication)) {
    $result.import = Test-ModuleImport -Name 'Microsoft.Graph.Authentication'
}

$json = ConvertTo-AsciiJson -InputObject $result
[Console]::Out.WriteLine('<<<ENTRA-COLLECT-JSON-BEGIN>>>')
[Console]::Out.WriteLine($json)
[Console]::Out.WriteLine('<<<ENTRA-COLLECT-JSON-END>>>')
