//! A catalogue of the AADSTS codes support sees most, with meaning and fix in both languages.
//! Unknown codes are still reported, with the message the service sent.
//!
//! Names and meanings were checked against Microsoft's "Microsoft Entra authentication and
//! authorization error codes" page (entra-docs, reference-error-codes.md, 2024-04-24). That page
//! gives no name for 7000215 and does not list 1002016 (its text comes from the support article
//! on TLS 1.0/1.1), so those two carry a description instead of a name.

/// (code, name, meaning en, fix en, meaning ja, fix ja)
pub const CATALOGUE: &[(u32, &str, &str, &str, &str, &str)] = &[
    (
        1002016,
        "TLS 1.0/1.1 or 3DES deprecated",
        "The client used TLS 1.0 or 1.1; Entra ID accepts TLS 1.2 or newer only.",
        "Enable TLS 1.2 on this machine (SCHANNEL and .NET SchUseStrongCrypto / SystemDefaultTlsVersions) and install updates.",
        "クライアントが TLS 1.0/1.1 を使用しました。Entra ID は TLS 1.2 以降のみを受け付けます。",
        "このマシンで TLS 1.2 を有効にし (SCHANNEL と .NET の SchUseStrongCrypto / SystemDefaultTlsVersions)、更新プログラムを適用してください。",
    ),
    (
        50020,
        "UserUnauthorized",
        "The user account from this identity provider does not exist in the tenant (often a guest signing in to the wrong tenant).",
        "Sign in to the tenant you mean, by name: az login --tenant <tenant>, Connect-AzAccount -Tenant <tenant>, Connect-MgGraph -TenantId <tenant>; or have the user invited to that tenant.",
        "この ID プロバイダーのユーザー アカウントはテナントに存在しません (ゲスト ユーザーが別のテナントにサインインしている場合が多い)。",
        "目的のテナントを明示してサインインしてください: az login --tenant <テナント>、Connect-AzAccount -Tenant <テナント>、Connect-MgGraph -TenantId <テナント>。またはそのテナントにユーザーを招待してください。",
    ),
    (
        90002,
        "InvalidTenantName",
        "The tenant was not found: the tenant id or domain is wrong, or the tenant is in another cloud.",
        "Check the tenant id or domain you pass, and the cloud (az cloud set / -Environment).",
        "テナントが見つかりません。テナント ID またはドメインが誤っているか、別のクラウドのテナントです。",
        "指定したテナント ID またはドメインとクラウド (az cloud set / -Environment) を確認してください。",
    ),
    (
        700016,
        "UnauthorizedClient_DoesNotMatchRequest",
        "The application (client) id was not found in the tenant.",
        "Check the application id and that the app (or its service principal) exists in the tenant you sign in to.",
        "アプリケーション (クライアント) ID がテナントに見つかりません。",
        "アプリケーション ID と、サインイン先テナントにアプリ (サービス プリンシパル) が存在することを確認してください。",
    ),
    (
        50076,
        "UserStrongAuthClientAuthNRequired",
        "Multifactor authentication is required (a policy or a change of location).",
        "Sign in interactively so MFA can be completed (az login without -u/-p, or the browser / device code flow).",
        "多要素認証が必要です (ポリシーまたは場所の変更による)。",
        "MFA を完了できるよう対話的にサインインしてください (az login を -u/-p なしで、またはブラウザー / デバイス コード フロー)。",
    ),
    (
        50079,
        "UserStrongAuthEnrollmentRequired",
        "The user must register for multifactor authentication.",
        "Complete MFA registration (https://aka.ms/mfasetup), then sign in interactively.",
        "ユーザーは多要素認証の登録が必要です。",
        "MFA の登録 (https://aka.ms/mfasetup) を完了してから対話的にサインインしてください。",
    ),
    (
        53003,
        "BlockedByConditionalAccess",
        "A Conditional Access policy blocked the sign-in.",
        "Ask the tenant administrator which policy applied (the sign-in log shows it) and sign in from a compliant device or location.",
        "条件付きアクセス ポリシーによってサインインがブロックされました。",
        "どのポリシーが適用されたか (サインイン ログに表示) をテナント管理者に確認し、準拠したデバイスや場所からサインインしてください。",
    ),
    (
        50126,
        "InvalidUserNameOrPassword",
        "The user name or password is wrong.",
        "Check the credentials; federated and MFA-enabled accounts cannot use a password sign-in (az login -u/-p).",
        "ユーザー名またはパスワードが正しくありません。",
        "資格情報を確認してください。フェデレーション アカウントや MFA 有効なアカウントはパスワード サインイン (az login -u/-p) を使用できません。",
    ),
    (
        500011,
        "InvalidResourceServicePrincipalNotFound",
        "The resource (API) was not found in the tenant: wrong resource URI or the API is not provisioned there.",
        "Check the resource / scope you request and the cloud; the API's service principal must exist in the tenant.",
        "リソース (API) がテナントに見つかりません。リソース URI が誤っているか、API がテナントにプロビジョニングされていません。",
        "要求しているリソース / スコープとクラウドを確認してください。API のサービス プリンシパルがテナントに必要です。",
    ),
    (
        65001,
        "DelegationDoesNotExist",
        "The user or an administrator has not consented to the application.",
        "Grant consent to the application (admin consent for the requested permissions).",
        "ユーザーまたは管理者がアプリケーションに同意していません。",
        "アプリケーションに同意を付与してください (要求されたアクセス許可に対する管理者の同意)。",
    ),
    (
        50058,
        "UserInformationNotProvided",
        "No signed-in user could be found for a silent sign-in (session missing or expired).",
        "Sign in interactively again; clear stale caches first if it repeats.",
        "サイレント サインインで、サインイン済みのユーザーが見つかりません (セッションがないか期限切れ)。",
        "もう一度対話的にサインインしてください。繰り返す場合は先に古いキャッシュをクリアしてください。",
    ),
    (
        7000215,
        "invalid client secret",
        "The client secret is invalid: often the secret's ID was sent instead of its value.",
        "Use the secret's value (not its ID), or create a new client secret for the application.",
        "クライアント シークレットが無効です。シークレットの値ではなく ID が送信されていることがよくあります。",
        "シークレットの ID ではなく値を使用するか、アプリケーションの新しいクライアント シークレットを作成してください。",
    ),
    (
        700082,
        "ExpiredOrRevokedGrantInactiveToken",
        "The refresh token has expired because of inactivity.",
        "Sign in again; clear the tool's cache if stale tokens keep being used.",
        "非アクティブのため更新トークンの有効期限が切れました。",
        "もう一度サインインしてください。古いトークンが使われ続ける場合はツールのキャッシュをクリアしてください。",
    ),
];

/// Look a code up.
pub fn lookup(
    code: u32,
) -> Option<&'static (
    u32,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    CATALOGUE.iter().find(|e| e.0 == code)
}
