namespace Airlock.Inspection.Tests.Secrets;

public class SecretValidatorsTests
{
    [Theory]
    [InlineData("ghp_")]
    [InlineData("gho_")]
    [InlineData("ghu_")]
    [InlineData("ghs_")]
    [InlineData("ghr_")]
    public void GitHub_checksum_accepts_computed_tokens_and_rejects_corrupted_ones(string prefix)
    {
        for (var seed = 0; seed < 20; seed++)
        {
            var token = FakeTokens.ChecksummedToken(prefix, seed);
            Assert.True(SecretValidators.Validate(SecretValidators.GitHubChecksum, token));
            Assert.True(SecretValidators.Validate(SecretValidators.GitHubChecksum, token.AsSpan(4)));
            Assert.False(SecretValidators.Validate(SecretValidators.GitHubChecksum, FakeTokens.Corrupt(token)));
        }
    }

    [Fact]
    public void GitHub_checksum_rejects_other_prefixes_and_lengths()
    {
        var token = FakeTokens.ChecksummedToken("ghp_", 3);
        Assert.False(SecretValidators.Validate(SecretValidators.GitHubChecksum, "ghx_" + token[4..]));
        Assert.False(SecretValidators.Validate(SecretValidators.GitHubChecksum, token + "A"));
        Assert.False(SecretValidators.Validate(SecretValidators.NpmChecksum, token));
    }

    [Fact]
    public void Npm_checksum_uses_the_same_scheme()
    {
        // Public example from secretlint issue #200 (a dummy npm token): payload -> checksum "0LsakP".
        // This pins the base62 alphabet order 0-9A-Za-z.
        Assert.Equal("0LsakP", FakeTokens.ChecksumOf("qkJaB6MffYVzZXWqmcoF49yrUxP3wf"));
        Assert.True(SecretValidators.Validate(SecretValidators.NpmChecksum, "npm_qkJaB6MffYVzZXWqmcoF49yrUxP3wf" + "0LsakP"));

        var token = FakeTokens.ChecksummedToken("npm_", 42);
        Assert.True(SecretValidators.Validate(SecretValidators.NpmChecksum, token));
        Assert.False(SecretValidators.Validate(SecretValidators.NpmChecksum, FakeTokens.Corrupt(token)));
    }

    [Fact]
    public void Jwt_requires_three_parts_and_a_header_with_alg()
    {
        var jwt = FakeTokens.Jwt(1);
        Assert.True(SecretValidators.Validate(SecretValidators.Jwt, jwt));

        var parts = jwt.Split('.');
        Assert.True(SecretValidators.Validate(SecretValidators.Jwt, parts[0] + "." + parts[1] + "."));
        Assert.False(SecretValidators.Validate(SecretValidators.Jwt, parts[0] + "." + parts[1]));
        Assert.False(SecretValidators.Validate(SecretValidators.Jwt, FakeTokens.Base64Url("{\"typ\":\"JWT\"}") + "." + parts[1] + "." + parts[2]));
        Assert.False(SecretValidators.Validate(SecretValidators.Jwt, "eyJub3QganNvbg." + parts[1] + "." + parts[2]));
        Assert.False(SecretValidators.Validate(SecretValidators.Jwt, "a.b.c.d"));
    }

    [Theory]
    [InlineData("4111111111111111", true)]
    [InlineData("4111 1111 1111 1111", true)]
    [InlineData("4111111111111112", false)]
    [InlineData("79927398713", true)]
    [InlineData("79927398710", false)]
    [InlineData("4111x11111111111", false)]
    public void Luhn(string value, bool expected) => Assert.Equal(expected, SecretValidators.Validate(SecretValidators.Luhn, value));

    [Fact]
    public void Base64_json_requires_a_json_object()
    {
        var obj = Convert.ToBase64String("{\"type\":\"service_account\",\"project_id\":\"fake\"}"u8.ToArray());
        Assert.True(SecretValidators.Validate(SecretValidators.Base64Json, obj));
        Assert.True(SecretValidators.Validate(SecretValidators.Base64Json, obj.TrimEnd('=')));
        Assert.False(SecretValidators.Validate(SecretValidators.Base64Json, Convert.ToBase64String("[1,2,3]"u8.ToArray())));
        Assert.False(SecretValidators.Validate(SecretValidators.Base64Json, "not base64 at all!"));
    }

    [Fact]
    public void Entropy_matches_known_values()
    {
        Assert.Equal(0, ShannonEntropy.Compute("aaaa"));
        Assert.Equal(1, ShannonEntropy.Compute("abab"), 10);
        Assert.Equal(4, ShannonEntropy.Compute("0123456789abcdef"), 10);
    }
}
