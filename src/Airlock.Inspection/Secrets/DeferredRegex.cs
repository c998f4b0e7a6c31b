using System.Collections;
using System.Text.RegularExpressions;

namespace Airlock.Inspection;

/// <summary>
/// A translated (.NET) pattern whose <see cref="Regex"/> is built on first use, or at once when it is given built.
/// The built-in pack holds ~300 patterns (rules and allowlists) and a short-lived process such as the hook, or a scan
/// of a few files, runs only the handful whose keyword occurs: building all of them cost it milliseconds per start.
/// Only the vetted built-in pack defers (a unit test builds every one of its patterns); organization patterns are
/// built while loading, so a bad one still stops the load. Thread-safe: two threads may race to build the same
/// pattern, which is harmless (a <see cref="Regex"/> is immutable), and both then use the one published first.
/// </summary>
internal sealed class DeferredRegex
{
    private readonly Func<string, Regex> _build;
    private Regex? _regex;

    private DeferredRegex(string pattern, Func<string, Regex> build, Regex? regex)
    {
        Pattern = pattern;
        _build = build;
        _regex = regex;
    }

    /// <summary>The .NET pattern (what <see cref="Regex.ToString"/> returns once built).</summary>
    public string Pattern { get; }

    public Regex Value => Volatile.Read(ref _regex) ?? Build();

    public bool IsBuilt => Volatile.Read(ref _regex) is not null;

    public static DeferredRegex Built(Regex regex) => new(regex.ToString(), static p => throw new InvalidOperationException(p), regex);

    public static DeferredRegex Deferred(string pattern, Func<string, Regex> build) => new(pattern, build, null);

    private Regex Build()
    {
        var built = _build(Pattern);
        return Interlocked.CompareExchange(ref _regex, built, null) ?? built;
    }
}

/// <summary>A read-only list of regexes built on first access of each element (see <see cref="DeferredRegex"/>);
/// <see cref="Count"/> builds nothing.</summary>
internal sealed class DeferredRegexList(IReadOnlyList<DeferredRegex> items) : IReadOnlyList<Regex>
{
    public static DeferredRegexList Empty { get; } = new([]);

    public int Count => items.Count;

    public Regex this[int index] => items[index].Value;

    public IEnumerator<Regex> GetEnumerator()
    {
        for (var i = 0; i < items.Count; i++)
        {
            yield return items[i].Value;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
