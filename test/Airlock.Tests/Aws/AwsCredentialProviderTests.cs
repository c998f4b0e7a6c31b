using Airlock.Protocols.Aws.Signing;

namespace Airlock.Tests.Aws;

/// <summary>The AWSSDK.Core-backed provider, on a real shared credentials file (no process-wide environment changes).</summary>
public sealed class AwsCredentialProviderTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("airlock-aws-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string CredentialsFile(string text)
    {
        var path = Path.Combine(_directory, "credentials");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Named_profile_is_read_through_the_sdk_and_reused_while_unchanged()
    {
        var file = CredentialsFile("""
            [default]
            aws_access_key_id = AKIDDEFAULTEXAMPLE
            aws_secret_access_key = default-secret

            [airlock-bedrock]
            aws_access_key_id = ASIAPROFILEEXAMPLE
            aws_secret_access_key = profile-secret
            aws_session_token = profile-session-token
            """);
        var provider = new AwsSdkCredentialProvider("airlock-bedrock", file);
        var first = await provider.GetCredentialsAsync(CancellationToken.None);
        Assert.Equal("ASIAPROFILEEXAMPLE", first.AccessKeyId);
        Assert.Equal("profile-secret", first.SecretAccessKey);
        Assert.Equal("profile-session-token", first.SessionToken);
        Assert.Same(first, await provider.GetCredentialsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Missing_profile_names_the_profile_and_no_key()
    {
        var file = CredentialsFile("""
            [other]
            aws_access_key_id = AKIDOTHEREXAMPLE
            aws_secret_access_key = other-secret-value
            """);
        var provider = new AwsSdkCredentialProvider("absent", file);
        var error = await Assert.ThrowsAsync<AwsCredentialsUnavailableException>(async () => await provider.GetCredentialsAsync(CancellationToken.None));
        Assert.Contains("'absent'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("other-secret-value", error.ToString(), StringComparison.Ordinal);
        // A failed resolution is not cached: the profile added later is found.
        File.AppendAllText(file, "\n[absent]\naws_access_key_id = AKIDLATEREXAMPLE\naws_secret_access_key = later-secret\n");
        Assert.Equal("AKIDLATEREXAMPLE", (await provider.GetCredentialsAsync(CancellationToken.None)).AccessKeyId);
    }

    [Fact]
    public void Profiles_location_needs_a_profile_name() =>
        Assert.Throws<ArgumentException>(() => new AwsSdkCredentialProvider(null, "/tmp/x"));

    [Fact]
    public async Task Static_provider_returns_its_credentials()
    {
        var credentials = new AwsCredentials("AKIDEXAMPLE", "secret");
        Assert.Same(credentials, await new StaticAwsCredentialProvider(credentials).GetCredentialsAsync(CancellationToken.None));
    }
}
