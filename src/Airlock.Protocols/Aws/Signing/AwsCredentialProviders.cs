using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;

namespace Airlock.Protocols.Aws.Signing;

/// <summary>Supplies AWS credentials for signing; implementations cache and refresh.</summary>
public interface IAwsCredentialProvider
{
    /// <summary>Current credentials.</summary>
    /// <exception cref="AwsCredentialsUnavailableException">No credentials could be resolved.</exception>
    ValueTask<AwsCredentials> GetCredentialsAsync(CancellationToken cancellationToken);
}

/// <summary>Fixed credentials (tests, or keys given in configuration).</summary>
public sealed class StaticAwsCredentialProvider(AwsCredentials credentials) : IAwsCredentialProvider
{
    private readonly AwsCredentials _credentials = credentials ?? throw new ArgumentNullException(nameof(credentials));

    public ValueTask<AwsCredentials> GetCredentialsAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_credentials);
}

/// <summary>
/// Credentials from AWSSDK.Core: the standard chain (environment variables, the shared config and credentials files with
/// <c>AWS_PROFILE</c>, web identity / IRSA, ECS/EKS container credentials, EC2 instance metadata), or a named profile.
/// The SDK's credential objects cache and refresh temporary credentials ahead of expiry; this class only keeps the
/// resolved source and reuses the last <see cref="AwsCredentials"/> while the SDK returns the same keys.
/// </summary>
/// <remarks>SSO profiles need the AWSSDK.SSO and AWSSDK.SSOOIDC assemblies, which are not referenced.</remarks>
public sealed class AwsSdkCredentialProvider : IAwsCredentialProvider
{
    private readonly string? _profileName;
    private readonly string? _profilesLocation;
    private readonly Lock _gate = new();
    private Task<AWSCredentials>? _resolving;
    private AwsCredentials? _last;

    /// <summary>
    /// Uses <paramref name="profileName"/> from the shared config and credentials files, or the default chain when null.
    /// <paramref name="profilesLocation"/> names a credentials file to read the profile from instead of the default
    /// locations (<c>~/.aws/credentials</c>, <c>AWS_SHARED_CREDENTIALS_FILE</c>).
    /// </summary>
    public AwsSdkCredentialProvider(string? profileName = null, string? profilesLocation = null)
    {
        _profileName = string.IsNullOrWhiteSpace(profileName) ? null : profileName;
        _profilesLocation = string.IsNullOrWhiteSpace(profilesLocation) ? null : profilesLocation;
        if (_profilesLocation is not null && _profileName is null)
        {
            throw new ArgumentException("a profiles location needs a profile name", nameof(profileName));
        }
    }

    public async ValueTask<AwsCredentials> GetCredentialsAsync(CancellationToken cancellationToken)
    {
        Task<AWSCredentials> resolving;
        lock (_gate)
        {
            resolving = _resolving ??= ResolveSourceAsync();
        }
        AWSCredentials source;
        try
        {
            source = await resolving.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (AwsCredentialsUnavailableException)
        {
            // A failed resolution is retried by the next request (credentials may appear later, e.g. IRSA token files).
            lock (_gate)
            {
                if (ReferenceEquals(_resolving, resolving))
                {
                    _resolving = null;
                }
            }
            throw;
        }
        ImmutableCredentials current;
        try
        {
            current = await source.GetCredentialsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception ex) when (ex is AmazonClientException or AmazonServiceException or InvalidOperationException or IOException or HttpRequestException)
        {
            // The SDK's messages name the source (e.g. instance metadata) but never the keys; ours stay generic except for
            // expiry, whose SDK messages carry only timestamps and say exactly what an operator must fix.
            throw new AwsCredentialsUnavailableException(ExpiryReason(ex) is { } expired
                ? $"the AWS credentials from {SourceName()} have expired ({expired})"
                : $"AWS credentials could not be refreshed from {SourceName()}", ex);
        }
        var last = _last;
        if (last is not null && last.AccessKeyId == current.AccessKey && last.SecretAccessKey == current.SecretKey
            && last.SessionToken == (string.IsNullOrEmpty(current.Token) ? null : current.Token))
        {
            return last;
        }
        var next = new AwsCredentials(current.AccessKey, current.SecretKey, current.Token, Expiration(current));
        _last = next;
        return next;
    }

    private async Task<AWSCredentials> ResolveSourceAsync()
    {
        if (_profileName is not null)
        {
            return (_profilesLocation is null ? new CredentialProfileStoreChain() : new CredentialProfileStoreChain(_profilesLocation)).TryGetAWSCredentials(_profileName, out var profile)
                ? profile
                : throw new AwsCredentialsUnavailableException($"AWS profile '{_profileName}' was not found in the shared config or credentials file");
        }
        try
        {
            return await DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync(null).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmazonClientException or AmazonServiceException or InvalidOperationException or IOException or HttpRequestException)
        {
            throw new AwsCredentialsUnavailableException(
                "no AWS credentials found in the standard chain (environment, shared profile, web identity, container, instance metadata)", ex);
        }
    }

    /// <summary>
    /// The SDK's own words when credentials expired: a source handed out credentials already past their expiration
    /// (<c>The retrieved credentials have already expired: Now = …, Credentials expiration = …</c>), or an SSO / login
    /// token expired. Only these fixed messages are quoted; any other message is not.
    /// </summary>
    private static string? ExpiryReason(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex.Message.StartsWith("The retrieved credentials have already expired", StringComparison.Ordinal)
                || ex.Message.StartsWith("SSO Token has expired", StringComparison.Ordinal)
                || ex.Message.StartsWith("Login Token has expired", StringComparison.Ordinal))
            {
                return ex.Message.Trim().TrimEnd('.');
            }
        }
        return null;
    }

    private string SourceName() => _profileName is null ? "the standard chain" : $"profile '{_profileName}'";

    private static DateTimeOffset? Expiration(ImmutableCredentials credentials) => credentials switch
    {
        AssumeRoleImmutableCredentials assumed => new DateTimeOffset(DateTime.SpecifyKind(assumed.Expiration, DateTimeKind.Utc)),
        _ => null,
    };
}

/// <summary>No AWS credentials could be resolved. The message names the source, never a key.</summary>
public sealed class AwsCredentialsUnavailableException : Exception
{
    public AwsCredentialsUnavailableException()
    {
    }

    public AwsCredentialsUnavailableException(string message)
        : base(message)
    {
    }

    public AwsCredentialsUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
