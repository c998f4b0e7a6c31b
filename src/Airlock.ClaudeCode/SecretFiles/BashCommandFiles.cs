using System.Text;

namespace Airlock.ClaudeCode.SecretFiles;

/// <summary>What a Bash command line refers to, as far as secret files go.</summary>
/// <param name="Mentioned">Every path-like fragment of every word (option values and quoted code included),
/// for the name check: <c>cat .env</c>, <c>curl -d @.env</c>, <c>python -c "open('.env')"</c>.</param>
/// <param name="Read">Arguments of programs that print or copy file content (cat, head, grep, base64, cp, …)
/// and input redirections (<c>&lt; file</c>): these files' content is scanned.</param>
public sealed record BashFileReferences(IReadOnlyList<string> Mentioned, IReadOnlyList<string> Read);

/// <summary>
/// A small shell reader: splits a Bash command line into simple commands (on <c>; &amp;&amp; || | &amp;</c>,
/// newlines, subshells and command substitutions), honours quotes and backslashes, and reports which files
/// the command mentions and which it reads. It is deliberately generous: anything path-like counts, because
/// a missed <c>.env</c> leaks and an extra denial only costs a rephrased command.
/// </summary>
public static class BashCommandFiles
{
    /// <summary>Programs whose file arguments end up on stdout, in a copy, or on the network.</summary>
    private static readonly HashSet<string> Readers = new(StringComparer.Ordinal)
    {
        "cat", "tac", "nl", "head", "tail", "less", "more", "most", "bat", "batcat", "view", "vi", "vim", "nano",
        "strings", "xxd", "od", "hexdump", "hd", "base64", "base32", "basenc", "grep", "egrep", "fgrep", "rg", "ag",
        "ack", "sed", "awk", "gawk", "mawk", "cut", "sort", "uniq", "paste", "column", "fold", "fmt", "pr", "rev",
        "diff", "cmp", "comm", "jq", "yq", "source", ".", "cp", "mv", "install", "scp", "rsync", "tar", "zip",
        "gzip", "bzip2", "xz", "zstd", "openssl", "gpg", "curl", "wget", "nc", "tee", "dd", "iconv", "envsubst",
    };

    /// <summary>Programs that only print their own arguments: mentioning <c>.env</c> in a message is not reading it.</summary>
    private static readonly HashSet<string> TextOnly = new(StringComparer.Ordinal) { "echo", "printf", ":", "true", "false" };

    /// <summary>Wrappers that run the next word as the program.</summary>
    private static readonly HashSet<string> Wrappers = new(StringComparer.Ordinal)
    {
        "sudo", "doas", "env", "command", "exec", "time", "nice", "nohup", "xargs", "builtin", "timeout", "stdbuf",
    };

    /// <summary>Reads <paramref name="command"/>; never throws on odd input (unbalanced quotes end the word).</summary>
    public static BashFileReferences Analyze(string command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var mentioned = new List<string>();
        var read = new List<string>();
        foreach (var simple in Split(command))
        {
            var words = simple.Words;
            var program = ProgramIndex(words);
            var programName = program < words.Count ? Path.GetFileName(words[program]) : "";
            var textOnly = TextOnly.Contains(programName);
            var reader = Readers.Contains(programName);
            for (var i = 0; i < words.Count; i++)
            {
                if (!textOnly)
                {
                    AddFragments(words[i], mentioned);
                }
                if (reader && i > program && !IsOption(words[i]))
                {
                    read.Add(words[i]);
                }
            }
            foreach (var target in simple.InputRedirections)
            {
                AddFragments(target, mentioned);
                read.Add(target);
            }
            foreach (var target in simple.OutputRedirections)
            {
                AddFragments(target, mentioned);
            }
        }
        return new BashFileReferences(mentioned.Distinct(StringComparer.Ordinal).ToList(), read.Distinct(StringComparer.Ordinal).ToList());
    }

    private static bool IsOption(string word) => word.Length > 1 && word[0] == '-';

    private static int ProgramIndex(List<string> words)
    {
        var i = 0;
        while (i < words.Count)
        {
            var word = words[i];
            if (IsAssignment(word) || (i > 0 && IsOption(word)))
            {
                i++;
                continue;
            }
            if (Wrappers.Contains(Path.GetFileName(word)))
            {
                i++;
                continue;
            }
            break;
        }
        return i;
    }

    private static bool IsAssignment(string word)
    {
        var eq = word.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 && word[..eq].All(c => char.IsAsciiLetterOrDigit(c) || c == '_') && !char.IsAsciiDigit(word[0]);
    }

    /// <summary>The word itself plus each run of path characters in it (splits <c>--file=@.env</c>, <c>open('.env')</c>).</summary>
    private static void AddFragments(string word, List<string> into)
    {
        if (word.Length == 0)
        {
            return;
        }
        into.Add(word);
        var start = -1;
        for (var i = 0; i <= word.Length; i++)
        {
            var pathChar = i < word.Length && (char.IsLetterOrDigit(word[i]) || word[i] is '.' or '_' or '-' or '/' or '~' or '*' or '?' or '+');
            if (pathChar && start < 0)
            {
                start = i;
            }
            else if (!pathChar && start >= 0)
            {
                if (start > 0 || i < word.Length)
                {
                    into.Add(word[start..i]);
                }
                start = -1;
            }
        }
    }

    private sealed class SimpleCommand
    {
        public List<string> Words { get; } = [];

        public List<string> InputRedirections { get; } = [];

        public List<string> OutputRedirections { get; } = [];

        public bool IsEmpty => Words.Count == 0 && InputRedirections.Count == 0 && OutputRedirections.Count == 0;
    }

    private enum Pending
    {
        None,
        Input,
        Output,
    }

    /// <summary>Splits into simple commands. Quotes group; <c>$(</c>, backticks and parentheses start a new command.</summary>
    private static List<SimpleCommand> Split(string text)
    {
        var commands = new List<SimpleCommand>();
        var current = new SimpleCommand();
        var word = new StringBuilder();
        var inWord = false;
        var pending = Pending.None;

        void EndWord()
        {
            if (!inWord)
            {
                return;
            }
            var value = word.ToString();
            switch (pending)
            {
                case Pending.Input:
                    current.InputRedirections.Add(value);
                    break;
                case Pending.Output:
                    current.OutputRedirections.Add(value);
                    break;
                default:
                    current.Words.Add(value);
                    break;
            }
            pending = Pending.None;
            word.Clear();
            inWord = false;
        }

        void EndCommand()
        {
            EndWord();
            pending = Pending.None;
            if (!current.IsEmpty)
            {
                commands.Add(current);
            }
            current = new SimpleCommand();
        }

        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            switch (c)
            {
                case '\\' when i + 1 < text.Length:
                    if (text[i + 1] != '\n')
                    {
                        word.Append(text[i + 1]);
                        inWord = true;
                    }
                    i += 2;
                    continue;
                case '\'':
                {
                    var end = text.IndexOf('\'', i + 1);
                    end = end < 0 ? text.Length : end;
                    word.Append(text, i + 1, end - i - 1);
                    inWord = true;
                    i = end + 1;
                    continue;
                }
                case '"':
                {
                    i++;
                    while (i < text.Length && text[i] != '"')
                    {
                        if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] is '"' or '\\' or '$' or '`')
                        {
                            i++;
                        }
                        word.Append(text[i]);
                        i++;
                    }
                    inWord = true;
                    i++;
                    continue;
                }
                case ' ' or '\t':
                    EndWord();
                    i++;
                    continue;
                case '\n' or '\r' or ';' or '|' or '&' or '(' or ')' or '`' or '{' or '}':
                    // `2>&1`: the & belongs to a redirection, not a command separator.
                    if (c == '&' && i > 0 && text[i - 1] == '>')
                    {
                        pending = Pending.None;
                        i++;
                        while (i < text.Length && char.IsAsciiDigit(text[i]))
                        {
                            i++;
                        }
                        continue;
                    }
                    EndCommand();
                    i++;
                    continue;
                case '$' when i + 1 < text.Length && text[i + 1] == '(':
                    EndCommand();
                    i += 2;
                    continue;
                case '<':
                    EndWord();
                    // Here-strings (<<<) and here-docs (<<) carry text, not a file name.
                    if (i + 1 < text.Length && text[i + 1] == '<')
                    {
                        while (i < text.Length && text[i] == '<')
                        {
                            i++;
                        }
                        pending = Pending.None;
                        continue;
                    }
                    pending = Pending.Input;
                    i++;
                    continue;
                case '>':
                    // A file descriptor number written just before (2>file) is not a word of its own.
                    if (inWord && word.Length > 0 && word.ToString().All(char.IsAsciiDigit))
                    {
                        word.Clear();
                        inWord = false;
                    }
                    EndWord();
                    pending = Pending.Output;
                    i++;
                    while (i < text.Length && text[i] is '>' or '|')
                    {
                        i++;
                    }
                    continue;
                default:
                    word.Append(c);
                    inWord = true;
                    i++;
                    continue;
            }
        }
        EndCommand();
        return commands;
    }
}
