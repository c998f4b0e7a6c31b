using System.Text;

namespace Airlock.Inspection.Tests;

/// <summary>
/// Synthesizes format-valid FAKE tokens for tests. The checksum code here is deliberately independent of the
/// production code (bitwise CRC instead of a table, division-based base62) so the tests do not grade themselves.
/// </summary>
internal static class FakeTokens
{
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string RandomBase62(Random random, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = Base62[random.Next(Base62.Length)];
        }

        return new string(chars);
    }

    /// <summary>prefix + 30 random base62 chars + base62(CRC32(payload)) padded to 6.</summary>
    public static string ChecksummedToken(string prefix, int seed)
    {
        var payload = RandomBase62(new Random(seed), 30);
        return prefix + payload + ChecksumOf(payload);
    }

    public static string ChecksumOf(string payload)
    {
        var crc = BitwiseCrc32(Encoding.ASCII.GetBytes(payload));
        var sb = new StringBuilder();
        do
        {
            sb.Insert(0, Base62[(int)(crc % 62)]);
            crc /= 62;
        }
        while (crc > 0);
        return sb.ToString().PadLeft(6, '0');
    }

    /// <summary>Same token with the last checksum character changed.</summary>
    public static string Corrupt(string token)
    {
        var last = token[^1];
        return token[..^1] + (last == 'A' ? 'B' : 'A');
    }

    public static string Base64Url(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Jwt(int seed) =>
        Base64Url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + Base64Url("{\"sub\":\"fake-" + seed + "\",\"iat\":1700000000}") + "." +
        RandomBase62(new Random(seed), 43);

    private static uint BitwiseCrc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                var mask = (uint)-(int)(crc & 1);
                crc = (crc >> 1) ^ (0xEDB88320u & mask);
            }
        }

        return ~crc;
    }
}
