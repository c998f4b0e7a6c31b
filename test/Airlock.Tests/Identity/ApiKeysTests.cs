using System.Security.Cryptography;
using System.Text;
using Airlock.Core.Identity;

namespace Airlock.Tests.Identity;

public sealed class ApiKeysTests
{
    private const string Base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    [Fact]
    public void Generated_key_has_the_documented_shape_and_parses_to_its_id()
    {
        var (key, id) = ApiKeys.Generate();

        Assert.Equal(ApiKeys.Length, key.Length);
        Assert.StartsWith("alk_", key, StringComparison.Ordinal);
        Assert.Equal(12, id.Length);
        Assert.Equal(id, key[4..16]);
        Assert.Equal('_', key[16]);
        Assert.All(key[4..].Replace("_", "", StringComparison.Ordinal), c => Assert.Contains(c, Base62Alphabet));
        Assert.True(ApiKeys.TryParse(key, out var parsed));
        Assert.Equal(id, parsed);
    }

    [Fact]
    public void Generated_keys_are_unique()
    {
        var keys = Enumerable.Range(0, 200).Select(_ => ApiKeys.Generate()).ToList();

        Assert.Equal(200, keys.Select(k => k.Key).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(200, keys.Select(k => k.Id).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Every_single_character_typo_is_rejected()
    {
        var (key, _) = ApiKeys.Generate();
        for (var i = 0; i < key.Length; i++)
        {
            // Replace with the next alphabet character (a different, otherwise valid character).
            var original = key[i];
            var replacement = original == '_' ? 'a' : Base62Alphabet[(Base62Alphabet.IndexOf(original, StringComparison.Ordinal) + 1) % 62];
            var typo = key[..i] + replacement + key[(i + 1)..];

            Assert.False(ApiKeys.TryParse(typo, out var id), $"typo at position {i} accepted");
            Assert.Equal("", id);
        }
    }

    [Fact]
    public void Every_adjacent_transposition_is_rejected()
    {
        var (key, _) = ApiKeys.Generate();
        for (var i = 0; i + 1 < key.Length; i++)
        {
            if (key[i] == key[i + 1])
            {
                continue;
            }
            var swapped = key[..i] + key[i + 1] + key[i] + key[(i + 2)..];

            Assert.False(ApiKeys.TryParse(swapped, out _), $"transposition at {i} accepted");
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("alk_")]
    [InlineData("sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ")]
    public void Foreign_strings_are_rejected(string text)
    {
        Assert.False(ApiKeys.TryParse(text, out _));
    }

    [Fact]
    public void Wrong_prefix_length_separator_or_characters_are_rejected()
    {
        var (key, _) = ApiKeys.Generate();

        Assert.False(ApiKeys.TryParse("xlk_" + key[4..], out _));
        Assert.False(ApiKeys.TryParse(key + "0", out _));
        Assert.False(ApiKeys.TryParse(key.AsSpan(0, key.Length - 1), out _));
        Assert.False(ApiKeys.TryParse(key[..16] + "-" + key[17..], out _));
        Assert.False(ApiKeys.TryParse(key[..20] + "é" + key[21..], out _));
        Assert.False(ApiKeys.TryParse(" " + key[1..], out _));
    }

    [Fact]
    public void Checksum_is_crc32_of_the_key_body_in_six_base62_digits()
    {
        var (key, _) = ApiKeys.Generate();
        var body = key[..^6];

        var crc = System.IO.Hashing.Crc32.HashToUInt32(Encoding.ASCII.GetBytes(body));

        Assert.Equal(Base62.Encode(crc, 6), key[^6..]);
    }

    [Theory]
    [InlineData(0UL, 3, "000")]
    [InlineData(61UL, 2, "0z")]
    [InlineData(62UL, 2, "10")]
    [InlineData(3843UL, 2, "zz")]
    [InlineData(4294967295UL, 6, "4gfFC3")]
    public void Base62_encodes_fixed_width(ulong value, int width, string expected)
    {
        Assert.Equal(expected, Base62.Encode(value, width));
    }

    [Fact]
    public void Base62_random_uses_only_the_alphabet()
    {
        var text = Base62.Random(500);

        Assert.Equal(500, text.Length);
        Assert.All(text, c => Assert.Contains(c, Base62Alphabet));
        Assert.True(text.Distinct().Count() > 40);
    }

    [Fact]
    public void Hash_is_the_sha256_of_the_utf8_key()
    {
        var (key, _) = ApiKeys.Generate();

        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(key)), ApiKeys.Hash(key));
    }

    [Theory]
    [InlineData(54)]
    [InlineData(200)]
    [InlineData(100_000)]
    public void Hash_and_matches_accept_input_of_any_length(int length)
    {
        // Hash and Matches are public: a caller may hand them anything a client sent, not only a parsed key.
        var text = new string('é', length);
        var (key, _) = ApiKeys.Generate();

        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(text)), ApiKeys.Hash(text));
        Assert.False(ApiKeys.Matches(text, ApiKeys.Hash(key)));
    }

    [Fact]
    public void Matches_accepts_only_the_key_whose_digest_is_stored()
    {
        var (key, _) = ApiKeys.Generate();
        var (other, _) = ApiKeys.Generate();
        var stored = ApiKeys.Hash(key);

        Assert.True(ApiKeys.Matches(key, stored));
        Assert.False(ApiKeys.Matches(other, stored));
    }

    [Fact]
    public void Matches_compares_every_byte_and_tolerates_a_bad_stored_digest()
    {
        var (key, _) = ApiKeys.Generate();
        var stored = ApiKeys.Hash(key);
        var firstByteDiffers = (byte[])stored.Clone();
        firstByteDiffers[0] ^= 1;
        var lastByteDiffers = (byte[])stored.Clone();
        lastByteDiffers[^1] ^= 0x80;

        Assert.False(ApiKeys.Matches(key, firstByteDiffers));
        Assert.False(ApiKeys.Matches(key, lastByteDiffers));
        Assert.False(ApiKeys.Matches(key, stored.AsSpan(0, 31)));
        Assert.False(ApiKeys.Matches(key, []));
    }
}
