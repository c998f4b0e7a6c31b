using System.Text;
using Airlock.Inspection.Messages;

namespace Airlock.Inspection.Tests.Messages;

public class VerdictCacheTests
{
    private static UInt128 Key(int i) => VerdictCache.KeyOf(Encoding.UTF8.GetBytes("string " + i));

    [Fact]
    public void Evicts_the_least_recently_used_entry_beyond_max_entries()
    {
        var cache = new VerdictCache(new VerdictCacheOptions { MaxEntries = 3 });
        var match = new TextMatch("r", FindingCategory.Secret, Confidence.High, 1, 2, true);
        cache.Set(Key(1), [match]);
        cache.Set(Key(2), []);
        cache.Set(Key(3), []);
        Assert.True(cache.TryGet(Key(1), out var hit));
        cache.Set(Key(4), []);

        Assert.Equal(3, cache.Count);
        Assert.False(cache.TryGet(Key(2), out _));
        Assert.True(cache.TryGet(Key(3), out _));
        Assert.Equal([match], hit);
        Assert.Equal(2, cache.Hits);
        Assert.Equal(1, cache.Misses);
    }

    [Fact]
    public void Respects_the_byte_budget()
    {
        var cache = new VerdictCache(new VerdictCacheOptions { MaxEntries = 1000, MaxBytes = 1000 });
        for (int i = 0; i < 100; i++)
        {
            cache.Set(Key(i), []);
        }

        Assert.InRange(cache.Bytes, 1, 1000);
        Assert.InRange(cache.Count, 1, 10);
        Assert.True(cache.TryGet(Key(99), out _));
    }

    [Fact]
    public void Keys_depend_on_content_only()
    {
        Assert.Equal(VerdictCache.KeyOf("abc"u8), VerdictCache.KeyOf(Encoding.UTF8.GetBytes("abc")));
        Assert.NotEqual(VerdictCache.KeyOf("abc"u8), VerdictCache.KeyOf("abd"u8));
    }

    [Fact]
    public void Short_strings_are_keyed_unambiguously_across_the_padding_boundary()
    {
        // Strings under 241 bytes are hashed as a padded block (XXH3's short-input path is the weak one): the block must
        // not make two strings one key, nor a short string the key of a long string spelling out its block.
        var keys = new Dictionary<UInt128, string> { [VerdictCache.KeyOf([])] = "empty" };
        foreach (var length in new[] { 1, 63, 64, 65, 128, 239, 240, 241, 242, 255, 256, 257, 1000 })
        {
            foreach (var fill in new[] { (byte)'a', (byte)'b' })
            {
                var text = new byte[length];
                text.AsSpan().Fill(fill);
                Assert.True(keys.TryAdd(VerdictCache.KeyOf(text), $"{length}x{(char)fill}"), $"{length}x{(char)fill} shares a key");
            }
        }
        var shortText = "secret-free text"u8.ToArray();
        var block = new byte[VerdictCache.PaddedKeyBytes];
        shortText.CopyTo(block, 0);
        block[^1] = (byte)shortText.Length;
        Assert.NotEqual(VerdictCache.KeyOf(shortText), VerdictCache.KeyOf(block));
        // Trailing zeros are part of the content, not padding.
        Assert.NotEqual(VerdictCache.KeyOf(shortText), VerdictCache.KeyOf([.. shortText, 0]));
    }

    [Fact]
    public async Task Is_safe_under_concurrent_use()
    {
        var cache = new VerdictCache(new VerdictCacheOptions { MaxEntries = 50 });
        var tasks = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (int i = 0; i < 2000; i++)
            {
                var key = Key((i * 7 + t) % 120);
                if (!cache.TryGet(key, out _))
                {
                    cache.Set(key, []);
                }
            }
        }));
        await Task.WhenAll(tasks);

        Assert.InRange(cache.Count, 1, 50);
        Assert.Equal(8000, cache.Hits + cache.Misses);
    }
}
