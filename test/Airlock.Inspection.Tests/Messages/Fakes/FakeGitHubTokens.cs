namespace Airlock.Inspection.Tests.Messages.Fakes;

/// <summary>
/// FAKE GitHub-format tokens for tests against the real built-in rule pack: <c>ghp_</c> + 30
/// random base62 characters + 6-character base62 (0-9A-Za-z, zero-padded) CRC32 of the 30
/// characters, per GitHub's published token format (github.blog, 2021-04-05). Random payloads
/// never correspond to a real token.
/// </summary>
public static class FakeGitHubTokens
{
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string Create(Random random, string prefix = "ghp_")
    {
        var payload = new char[30];
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] = Base62[random.Next(Base62.Length)];
        }

        return prefix + new string(payload) + Checksum(payload);
    }

    /// <summary>A fake AWS access key id: AKIA + 16 characters of the base32 alphabet A-Z2-7.</summary>
    public static string CreateAwsKeyId(Random random)
    {
        const string Base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var chars = new char[16];
        for (int i = 0; i < chars.Length; i++)
        {
            chars[i] = Base32[random.Next(Base32.Length)];
        }

        return "AKIA" + new string(chars);
    }

    private static string Checksum(char[] payload)
    {
        // CRC-32/IEEE, bitwise (reflected polynomial 0xEDB88320).
        uint crc = 0xFFFFFFFF;
        foreach (char c in payload)
        {
            crc ^= (byte)c;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        crc ^= 0xFFFFFFFF;
        var digits = new char[6];
        for (int i = digits.Length - 1; i >= 0; i--)
        {
            digits[i] = Base62[(int)(crc % 62)];
            crc /= 62;
        }

        return new string(digits);
    }
}
