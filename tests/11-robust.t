#!/usr/bin/env perl
# nnc never crashes, hangs or leaves a half output behind, whatever bytes it
# is given: seeded random binary junk, random mutations of good models
# (bytes flipped, deleted, duplicated, tokens inserted), and hand-picked
# extremes. For each input: `nnc FILE -o OUT.c` must exit 0 or 1 (no
# signal, no timeout, no sanitizer report), and on exit 1 neither OUT.c nor
# OUT.h may exist. NNC=path overrides build/nnc (e.g. a sanitizer build).
use strict;
use warnings;
use File::Temp qw(tempdir);

my $nnc = $ENV{NNC} // 'build/nnc';
my $dir = tempdir(CLEANUP => 1);
my @good = map { local $/; open my $f, '<', $_ or die "$_: $!"; scalar <$f> }
    grep { !/nn\.model$/ } glob('models/*.model tests/summary/*.model');
die "no good models to mutate\n" unless @good;

srand(20240613);    # the same inputs on every run
my $n = 0;

sub check_inputs {
    my ($what, @inputs) = @_;
    my @bad;
    for my $i (0 .. $#inputs) {
        my $in = "$dir/in$i.model";
        open my $f, '>:raw', $in or die "$in: $!";
        print $f $inputs[$i];
        close $f;
        unlink "$dir/out.c", "$dir/out.h";
        my $err = `timeout 10 $nnc $in -o $dir/out.c 2>&1 >/dev/null`;
        my $status = $? >> 8;
        my $why = $? & 127                  ? 'killed by signal ' . ($? & 127)
                : $status == 124            ? 'timed out'
                : $status > 1               ? "exit status $status"
                : $err =~ /Sanitizer|runtime error/ ? 'sanitizer report'
                : $status == 1 && (-e "$dir/out.c" || -e "$dir/out.h") ? 'output left behind'
                :                              '';
        next unless $why;
        my $keep = "$dir/../nnc-robust-$n-$i.model";
        rename $in, $keep;
        push @bad, "$why (input kept as $keep)";
    }
    $n++;
    if (@bad) {
        print "not ok $n - $what\n";
        print "# $_\n" for @bad[0 .. ($#bad < 9 ? $#bad : 9)];
    } else {
        print "ok $n - $what\n";
    }
}

sub junk {
    my $len = int(rand(2000));
    return join '', map { chr(int(rand(256))) } 1 .. $len;
}

my @specials = (' ', "\0", '=', ';', "\n", "\r\n", 'x', 'e', '.', '-', '#', '3x3', ' same',
    '99999999999999999999', ' relu', ' dense 10', ' input 28x28x1', "\t");

sub mutate {
    my $s = $good[int(rand(@good))];
    for (1 .. 1 + int(rand(8))) {
        last unless length $s;
        my $at = int(rand(length $s));
        my $op = int(rand(4));
        if ($op == 0) {
            substr($s, $at, 1) = chr(int(rand(256)));
        } elsif ($op == 1) {
            substr($s, $at, 1 + int(rand(10))) = '';
        } elsif ($op == 2) {
            substr($s, $at, 0) = substr($s, $at, 1 + int(rand(30)));
        } else {
            substr($s, $at, 0) = $specials[int(rand(@specials))];
        }
    }
    return $s;
}

check_inputs('150 inputs of seeded random binary junk', map { junk() } 1 .. 150);
check_inputs('300 random mutations of the good models', map { mutate() } 1 .. 300);
check_inputs('extremes', (
    '',                                          # empty
    "\n" x 1000,                                 # only newlines
    "\0" x 1000,                                 # NUL bytes
    "input 784\0\ndense 10\0\n",
    "input 784\ndense 99999999999999999999\n",   # a 20-digit number
    "input 784\ndense 1" . ('0' x 400) . "\n",   # beyond a double
    "input 784\ndense 10 lr=1e99999\n",
    'model ' . ('a' x 10000) . "\ninput 784\ndense 10\n",   # a 10,000-character name
    ('a' x 10000) . " 10\n",                     # ... as a keyword
    "input 784\ndense 10 relu" . (' relu' x 200000) . "\n",   # a huge line
    # Many statements, then an error: the front end at scale, not the emitter.
    "input 784\n" . ("dense 10 init=he\n" x 20000) . "dense 0\n",
    "input 784\ndense 10\n" . ("dropout 0.9\n" x 5000) . "dense 0\n",   # many warnings
    "input 28x28x1\n" . ("conv2d 1 1x1 padding=same\n" x 2000) . "flatten\ndense 0\n",
    ("dens 10\n" x 1000),                        # many errors
    "input 2147483647x2147483647x2147483647\nflatten\ndense 10\n",
    "input 46340x46340x1\nconv2d 2147483647 46340x46340 padding=same stride=2147483647\n",
    "input 1x1x1\nmaxpool 1x1 stride=2147483647\nflatten\ndense 2\n",
    "input 784\ndense 10\nseed 18446744073709551615\nbatch 2147483647\nepochs 2147483647\n",
    "=" x 10000,
    "#" . ("\xff" x 10000),                      # a comment of junk
    "input 784\r\ndense 10\r",                   # a lone CR at the end
));
print "1..$n\n";
