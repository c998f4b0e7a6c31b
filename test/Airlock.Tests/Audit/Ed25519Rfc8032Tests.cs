using System.Text;
using Airlock.Core.Audit;

namespace Airlock.Tests.Audit;

/// <summary>The checkpoint signature primitive against the RFC 8032 section 7.1 Ed25519 test vectors (TEST 1, 2, 3).</summary>
public sealed class Ed25519Rfc8032Tests
{
    [Theory]
    [InlineData("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")]
    [InlineData("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")]
    [InlineData("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a")]
    public void Signs_and_verifies_the_rfc_8032_vectors(string secretKey, string publicKey, string message, string signature)
    {
        using var key = AuditSigningKey.FromSeed(Convert.FromHexString(secretKey));
        var data = Convert.FromHexString(message);

        Assert.Equal(publicKey, Convert.ToHexStringLower(key.PublicKey.Raw));
        Assert.Equal(signature, Convert.ToHexStringLower(key.SignBytes(data)));
        var imported = AuditPublicKey.Parse(publicKey);
        Assert.True(imported.Verify(data, Convert.FromHexString(signature)));
        var flipped = Convert.FromHexString(signature);
        flipped[0] ^= 1;
        Assert.False(imported.Verify(data, flipped));
    }

    [Fact]
    public void Public_key_round_trips_through_pem()
    {
        using var key = AuditSigningKey.FromSeed(Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));

        var pem = key.PublicKey.ToPem();
        var parsed = AuditPublicKey.Parse(pem);

        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", pem, StringComparison.Ordinal);
        Assert.Equal(key.PublicKey.Raw, parsed.Raw);
        Assert.Equal(key.KeyId, parsed.KeyId);
        Assert.Throws<FormatException>(() => AuditPublicKey.Parse("not a key"));
        Assert.Throws<FormatException>(() => AuditPublicKey.Parse(Encoding.ASCII.GetString(new byte[10])));
    }

    [Fact]
    public void Signing_key_file_is_created_private_and_reloaded_unchanged()
    {
        var dir = Path.Combine(Path.GetTempPath(), "airlock-key-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var path = Path.Combine(dir, AuditSigningKey.FileName);
            string id;
            using (var created = AuditSigningKey.LoadOrCreate(path))
            {
                id = created.KeyId;
            }
            using var loaded = AuditSigningKey.LoadOrCreate(path);

            Assert.Equal(id, loaded.KeyId);
            Assert.Contains("PRIVATE KEY", File.ReadAllText(path), StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }
            File.WriteAllText(path, "garbage");
            var ex = Assert.Throws<InvalidDataException>(() => AuditSigningKey.Load(path));
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
