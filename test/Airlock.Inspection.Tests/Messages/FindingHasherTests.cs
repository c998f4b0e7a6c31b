using System.Security.Cryptography;
using System.Text;
using Airlock.Inspection.Policy;

namespace Airlock.Inspection.Tests.Messages;

public class FindingHasherTests
{
    [Fact]
    public void Hash_is_hmac_sha256_of_the_utf8_value_under_the_key()
    {
        byte[] key = Encoding.ASCII.GetBytes("0123456789abcdef0123456789abcdef");
        var hasher = new FindingHasher(key);
        string value = "pässwörd-🚀";

        string expected = Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(value)));

        Assert.Equal(expected, hasher.Hash(value));
        Assert.Equal(expected[..4], hasher.ShortHash(value));
    }

    [Fact]
    public void Matches_the_rfc4231_test_case_6_vector()
    {
        // RFC 4231 §4.7, test case 6: 131-byte key of 0xaa (most other cases use keys shorter than our minimum).
        byte[] key = Enumerable.Repeat((byte)0xaa, 131).ToArray();
        var hasher = new FindingHasher(key);

        Assert.Equal(
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            hasher.Hash("Test Using Larger Than Block-Size Key - Hash Key First"));
    }

    [Fact]
    public void Different_keys_give_different_hashes_and_short_keys_are_refused()
    {
        var a = new FindingHasher(new byte[16]);
        var b = new FindingHasher(Enumerable.Repeat((byte)1, 16).ToArray());

        Assert.NotEqual(a.Hash("same"), b.Hash("same"));
        Assert.Throws<ArgumentException>(() => new FindingHasher(new byte[8]));
        Assert.Equal(64, FindingHasher.CreateEphemeral().Hash(new string('x', 5000)).Length);
    }
}
