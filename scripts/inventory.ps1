# entra-collect inventory script.
# Read-only facts about the PowerShell that runs it, printed as ONE JSON object between marker
# lines on stdout. It never signs in, never reads a token cache, never changes any setting.
# Works in Windows PowerShell 5.1 and PowerShell 7+. Run with -NoProfile -NonInteractive.
$ErrorActionPreference = 'SilentlyContinue'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }

$result = [ordered]@{ schema = 1 }

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

$names = @('Az', 'Az.Accounts', 'Microsoft.Graph', 'Microsoft.Graph.Authentication')
$modules = New-Object System.Collections.ArrayList
foreach ($m in @(Get-Module -ListAvailable -Name $names)) {
    $pre = $null
    try { $pre = $m.PrivateData.PSData.Prerelease } catch { }
    [void]$modules.Add([ordered]@{
        name       = $m.Name
        version    = $m.Version.ToString()
        prerelease = $pre
        path       = $m.ModuleBase
    })
}
$result.modules = $modules.ToArray()

# Sign-in contexts. These cmdlets only report what the modules keep; no token is printed.
if (Get-Module -ListAvailable -Name Az.Accounts) {
    try {
        Import-Module Az.Accounts -ErrorAction Stop
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
        $config = New-Object System.Collections.ArrayList
        foreach ($item in @(Get-AzConfig)) {
            [void]$config.Add([ordered]@{ key = "$($item.Key)"; value = "$($item.Value)"; level = "$($item.Level)" })
        }
        $result.az_config = $config.ToArray()
    } catch { $result.az_error = $_.Exception.Message }
}
if (Get-Module -ListAvailable -Name Microsoft.Graph.Authentication) {
    try {
        Import-Module Microsoft.Graph.Authentication -ErrorAction Stop
        $mg = Get-MgContext
        if ($mg) {
            $result.mg_context = [ordered]@{
                client_id             = "$($mg.ClientId)"
                tenant_id             = "$($mg.TenantId)"
                scopes                = @($mg.Scopes | ForEach-Object { "$_" })
                auth_type             = "$($mg.AuthType)"
                token_credential_type = "$($mg.TokenCredentialType)"
                context_scope         = "$($mg.ContextScope)"
                account               = "$($mg.Account)"
                environment           = "$($mg.Environment)"
            }
        } else { $result.mg_context = $null }
    } catch { $result.mg_error = $_.Exception.Message }
}

$json = ConvertTo-Json -InputObject $result -Depth 6 -Compress
[Console]::Out.WriteLine('<<<ENTRA-COLLECT-JSON-BEGIN>>>')
[Console]::Out.WriteLine($json)
[Console]::Out.WriteLine('<<<ENTRA-COLLECT-JSON-END>>>')
