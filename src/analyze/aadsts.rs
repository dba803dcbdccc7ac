//! A catalogue of the AADSTS codes support sees most, with meaning and fix in both languages.
//! Unknown codes are still reported, with the message the service sent.
//!
//! Names and meanings were checked against Microsoft's "Microsoft Entra authentication and
//! authorization error codes" page (entra-docs, reference-error-codes.md, 2024-04-24). That page
//! gives no name for 7000215 and does not list 1002016 (its text comes from the support article
//! on TLS 1.0/1.1), so those two carry a description instead of a name.
//!
//! Reference (names, causes and remedies of every code below):
//! https://learn.microsoft.com/entra/identity-platform/reference-error-codes
//! (MicrosoftDocs/entra-docs `docs/identity-platform/reference-error-codes.md`, read at
//! 04f65548, ms.date 04/24/2024). Fixes REF gives no remedy for are the standard admin steps.

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
    (
        50034,
        "UserAccountNotFound",
        "The user name is mistyped, or the account does not exist in the tenant being signed in to (often the wrong tenant was chosen).",
        "Check the user name (UPN) and sign in to the right tenant: az login --tenant <tenant>, Connect-AzAccount -Tenant <tenant>. If the user should have access there, an administrator adds them (a guest for an outside account).",
        "ユーザー名の入力に誤りがあるか、サインイン先のテナントにそのアカウントが存在しません (サインイン先のテナントの選び間違いがよくあります)。",
        "ユーザー名 (UPN) を確認し、正しいテナントにサインインしてください: az login --tenant <テナント>、Connect-AzAccount -Tenant <テナント>。そのテナントへのアクセスが必要なユーザーであれば、管理者が追加します (外部のアカウントはゲストとして)。",
    ),
    (
        50053,
        "IdsLocked",
        "The account is locked after too many wrong passwords, or the sign-in came from an IP address Microsoft flags as malicious.",
        "Wait for the lockout to end, or have an administrator unblock the user or reset the password. The sign-in log entry (Entra admin center > Monitoring & health > Sign-in logs, error 50053, Failure reason) tells which of the two causes it is.",
        "誤ったパスワードが多すぎたためアカウントがロックされたか、Microsoft が悪意のあると判断した IP アドレスからのサインインです。",
        "ロックが解除されるまで待つか、管理者にブロック解除またはパスワードのリセットを依頼してください。どちらの原因かはサインイン ログ (Entra 管理センター > [監視と正常性] > [サインイン ログ]、エラー 50053 の [失敗の理由]) でわかります。",
    ),
    (
        50057,
        "UserDisabled",
        "An administrator has disabled the account (in Entra ID, or in on-premises Active Directory for synchronized users).",
        "An administrator re-enables the account: Entra admin center > Users > the user > Account enabled, or Enable-ADAccount for a user synchronized from Active Directory.",
        "管理者がアカウントを無効にしています (Entra ID で、または同期ユーザーの場合はオンプレミスの Active Directory で)。",
        "管理者がアカウントを再度有効にします: Entra 管理センター > [ユーザー] > 対象ユーザー > [アカウントの有効化]、Active Directory から同期されたユーザーの場合は Enable-ADAccount。",
    ),
    (
        50158,
        "ExternalSecurityChallenge",
        "A security check required by policy and run outside Entra ID (an external MFA provider or a custom control) was not completed.",
        "Complete the external provider's prompt in an interactive sign-in. If it cannot be completed, an administrator checks that provider's configuration and the Conditional Access policy that requires it.",
        "ポリシーで必須とされている Entra ID 外部のセキュリティ チェック (外部の MFA プロバイダーやカスタム コントロール) が完了していません。",
        "対話型サインインで外部プロバイダーの確認を完了してください。完了できない場合は、管理者がそのプロバイダーの構成と、それを必須にしている条件付きアクセス ポリシーを確認します。",
    ),
    (
        50173,
        "FreshTokenNeeded",
        "The sessions were revoked (for example after a password change), so the cached refresh token no longer works.",
        "Sign in again: az login, Connect-AzAccount, Connect-MgGraph.",
        "セッションが取り消されたため (パスワード変更の後など)、キャッシュされている更新トークンが使えなくなりました。",
        "もう一度サインインしてください: az login、Connect-AzAccount、Connect-MgGraph。",
    ),
    (
        53000,
        "DeviceNotCompliant",
        "A Conditional Access policy allows only compliant devices, and this device is not compliant or not enrolled.",
        "Enroll the device in Intune (or the approved MDM) and bring it into compliance, or sign in from a compliant device.",
        "条件付きアクセス ポリシーで準拠デバイスのみが許可されていますが、このデバイスは準拠していないか登録されていません。",
        "デバイスを Intune (または承認された MDM) に登録して準拠させるか、準拠しているデバイスからサインインしてください。",
    ),
    (
        53001,
        "DeviceNotDomainJoined",
        "A Conditional Access policy requires a domain-joined (hybrid joined) device, and this device is not joined.",
        "Sign in from a domain-joined or hybrid-joined device, or ask the administrator whether this device can be joined.",
        "条件付きアクセス ポリシーでドメイン参加 (ハイブリッド参加) 済みのデバイスが必要ですが、このデバイスは参加していません。",
        "ドメイン参加またはハイブリッド参加済みのデバイスからサインインするか、このデバイスを参加させられるか管理者に確認してください。",
    ),
    (
        530032,
        "BlockedByConditionalAccessOnSecurityPolicy",
        "A tenant-level security policy configured by the administrator blocked this sign-in.",
        "Ask the tenant administrator to look up this sign-in in the sign-in log and review which security policy blocked it.",
        "管理者が構成したテナント レベルのセキュリティ ポリシーによって、このサインインがブロックされました。",
        "テナント管理者にサインイン ログでこのサインインを確認してもらい、どのセキュリティ ポリシーでブロックされたかを確認するよう依頼してください。",
    ),
    (
        70011,
        "InvalidScope",
        "The scope (permission) the app requested is malformed or not valid for this flow.",
        "Correct the scope. App-only sign-ins (client credentials) take <resource>/.default, e.g. https://graph.microsoft.com/.default.",
        "アプリが要求したスコープ (アクセス許可) の形式が誤っているか、このフローでは無効です。",
        "スコープを修正してください。アプリのみのサインイン (クライアント資格情報) では <リソース>/.default を指定します (例: https://graph.microsoft.com/.default)。",
    ),
    (
        70043,
        "BadTokenDueToSignInFrequency",
        "A Conditional Access sign-in frequency rule says too much time has passed since the last full sign-in.",
        "Sign in again interactively. If the prompts come too often, the administrator adjusts the policy's sign-in frequency.",
        "条件付きアクセスのサインイン頻度のルールにより、前回の完全なサインインから時間が経ちすぎていると判断されました。",
        "もう一度対話的にサインインしてください。確認の頻度が高すぎる場合は、管理者がポリシーのサインイン頻度を調整します。",
    ),
    (
        7000222,
        "InvalidClientSecretExpiredKeysProvided",
        "The app registration's client secret has expired.",
        "Create a new secret (App registrations > the app > Certificates & secrets) and update the tool or configuration to use it; a certificate credential avoids this.",
        "アプリ登録のクライアント シークレットの有効期限が切れています。",
        "新しいシークレットを作成し ([アプリの登録] > 対象アプリ > [証明書とシークレット])、ツールや構成でそれを使うよう更新してください。証明書の資格情報を使うとこの問題を避けられます。",
    ),
    (
        90072,
        "PassThroughUserMfaError",
        "The account comes from another tenant or identity provider and does not exist in the tenant signed in to, so it cannot satisfy that tenant's MFA. For synchronized users, the ImmutableID (source anchor) may not match.",
        "Add the user to the tenant as an external (guest) user, or sign in with an account of that tenant; for synchronized users, fix the ImmutableID mismatch.",
        "アカウントが別のテナントや ID プロバイダーのもので、サインイン先のテナントに存在しないため、そのテナントの MFA を満たせません。同期ユーザーの場合は ImmutableID (ソース アンカー) が一致していない可能性があります。",
        "ユーザーを外部 (ゲスト) ユーザーとしてテナントに追加するか、そのテナントのアカウントでサインインしてください。同期ユーザーの場合は ImmutableID の不一致を修正してください。",
    ),
];

/// The name of a code in `lang`. Microsoft's error names (`UserUnauthorized`) are identifiers
/// support searches for, so they stay in both languages; the two descriptions standing in for
/// a name (see the module header) are translated.
pub fn name(e: &(u32, &'static str, &str, &str, &str, &str), lang: super::Lang) -> &'static str {
    match (lang, e.0) {
        (super::Lang::Ja, 1002016) => "TLS 1.0/1.1 または 3DES の廃止",
        (super::Lang::Ja, 7000215) => "無効なクライアント シークレット",
        _ => e.1,
    }
}

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
