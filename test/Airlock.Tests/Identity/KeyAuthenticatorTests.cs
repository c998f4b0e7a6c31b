using System.Text;
using Airlock.Core.Identity;
using Microsoft.Extensions.Time.Testing;

namespace Airlock.Tests.Identity;

public sealed class KeyAuthenticatorTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly InMemoryKeyStore _store = new();
    private readonly KeyAuthenticator _authenticator;
    private readonly KeyIssuer _issuer;

    public KeyAuthenticatorTests()
    {
        _authenticator = new KeyAuthenticator(_store, _time);
        _issuer = new KeyIssuer(_store, _time);
    }

    [Fact]
    public async Task Issued_key_authenticates_as_its_owner()
    {
        var (key, record) = await _issuer.IssueAsync("  grace  ", " compilers ", KeyRole.Developer, TimeSpan.FromDays(90), "laptop");

        var result = await _authenticator.AuthenticateAsync(key);

        Assert.True(result.Succeeded);
        Assert.Equal(AuthFailure.None, result.Failure);
        Assert.Equal(record.Id, result.Key!.Id);
        Assert.Equal("grace", result.Key.User);
        Assert.Equal("compilers", result.Key.Team);
        Assert.Equal(_time.GetUtcNow(), result.Key.CreatedAt);
        Assert.Equal(_time.GetUtcNow().AddDays(90), result.Key.ExpiresAt);
        Assert.Equal("laptop", result.Key.Description);
        // The store holds the digest, never the key.
        Assert.Equal(ApiKeys.Hash(key), record.Hash);
        Assert.DoesNotContain(key, record.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task Missing_key(string? presented)
    {
        var result = await _authenticator.AuthenticateAsync(presented);

        Assert.False(result.Succeeded);
        Assert.Equal(AuthFailure.Missing, result.Failure);
        Assert.Null(result.Key);
        Assert.Equal(0, _store.Lookups);
    }

    [Fact]
    public async Task Malformed_key_is_refused_without_a_store_lookup()
    {
        var (key, _) = await _issuer.IssueAsync("grace", null, KeyRole.Developer, null);
        var typo = key[..30] + (key[30] == 'a' ? 'b' : 'a') + key[31..];

        var result = await _authenticator.AuthenticateAsync(typo);

        Assert.Equal(AuthFailure.Malformed, result.Failure);
        Assert.Null(result.Key);
        Assert.Equal(0, _store.Lookups);
    }

    [Fact]
    public async Task Well_formed_key_that_was_never_issued_is_unknown()
    {
        var (key, _) = ApiKeys.Generate();

        var result = await _authenticator.AuthenticateAsync(key);

        Assert.Equal(AuthFailure.Unknown, result.Failure);
        Assert.Null(result.Key);
    }

    [Fact]
    public async Task Right_id_with_a_wrong_secret_is_unknown()
    {
        var (key, _) = await _issuer.IssueAsync("grace", null, KeyRole.Developer, null);
        // Same id, different secret, valid checksum: only the stored digest can tell it apart.
        var body = key[..17] + new string('Q', 32);
        var forged = body + Base62.Encode(System.IO.Hashing.Crc32.HashToUInt32(Encoding.ASCII.GetBytes(body)), 6);
        Assert.True(ApiKeys.TryParse(forged, out _));

        var result = await _authenticator.AuthenticateAsync(forged);

        Assert.Equal(AuthFailure.Unknown, result.Failure);
        Assert.Null(result.Key);
    }

    [Fact]
    public async Task Revocation_takes_effect_on_the_next_request()
    {
        var (key, record) = await _issuer.IssueAsync("grace", null, KeyRole.Developer, null);
        Assert.True((await _authenticator.AuthenticateAsync(key)).Succeeded);

        Assert.True(await _store.RevokeKeyAsync(record.Id, _time.GetUtcNow()));
        var result = await _authenticator.AuthenticateAsync(key);

        Assert.Equal(AuthFailure.Revoked, result.Failure);
        Assert.False(result.Succeeded);
        Assert.Equal(record.Id, result.Key!.Id);
    }

    [Fact]
    public async Task Key_expires_exactly_at_its_expiry_time()
    {
        var (key, _) = await _issuer.IssueAsync("grace", null, KeyRole.Developer, TimeSpan.FromHours(1));

        _time.Advance(TimeSpan.FromMinutes(59));
        Assert.True((await _authenticator.AuthenticateAsync(key)).Succeeded);

        _time.Advance(TimeSpan.FromMinutes(1));
        var result = await _authenticator.AuthenticateAsync(key);
        Assert.Equal(AuthFailure.Expired, result.Failure);
        Assert.False(result.Succeeded);
    }

    [Fact]
    public async Task Key_without_expiry_never_expires()
    {
        var (key, _) = await _issuer.IssueAsync("grace", null, KeyRole.Developer, null);

        _time.Advance(TimeSpan.FromDays(3650));

        Assert.True((await _authenticator.AuthenticateAsync(key)).Succeeded);
    }

    [Fact]
    public async Task Revoked_wins_over_expired()
    {
        var (key, record) = await _issuer.IssueAsync("grace", null, KeyRole.Developer, TimeSpan.FromMinutes(5));
        await _store.RevokeKeyAsync(record.Id, _time.GetUtcNow());
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(AuthFailure.Revoked, (await _authenticator.AuthenticateAsync(key)).Failure);
    }

    [Fact]
    public async Task Failure_messages_never_quote_the_key()
    {
        var (key, record) = await _issuer.IssueAsync("grace", null, KeyRole.Developer, TimeSpan.FromMinutes(5));
        await _store.RevokeKeyAsync(record.Id, _time.GetUtcNow());

        foreach (var failure in Enum.GetValues<AuthFailure>())
        {
            var message = new AuthResult(null, failure).Message;
            Assert.False(string.IsNullOrWhiteSpace(message));
            Assert.DoesNotContain(key, message, StringComparison.Ordinal);
            Assert.DoesNotContain(record.Id, message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Issuer_refuses_a_blank_user()
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _issuer.IssueAsync(" ", null, KeyRole.Developer, null));
    }
}
